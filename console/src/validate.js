// Client-side checks the campaign-kind forms share; the API checks again and its message is shown as it is.
export function windowError(range) {
  if (!range || range.length !== 2 || !range[0] || !range[1]) return '请选择开始和结束时间'
  if (new Date(range[1]) <= new Date(range[0])) return '结束时间须晚于开始时间'
  return ''
}

export const positiveInt = (v) => Number.isInteger(v) && v >= 1

// A field's error, including those the API names by index (store_ids.0, store_ids.1, ...).
export function fieldError(fe, field) {
  const own = fe[field] ? [fe[field]] : []
  const items = Object.entries(fe).filter(([k]) => k.startsWith(`${field}.`)).map(([, v]) => v)
  return [...own, ...items].join('；')
}

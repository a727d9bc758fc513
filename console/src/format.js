// Money is integer fen in the API; the console shows and takes yuan.
export const yuan = (fen) => (fen === null || fen === undefined ? '—' : `¥${(fen / 100).toFixed(2)}`)
export const toFen = (y) => Math.round(Number(y) * 100)
export const pct = (x) => (x === null || x === undefined ? '—' : `${(x * 100).toFixed(1)}%`)

// The China day (UTC+8) as YYYY-MM-DD, which is how the API counts days.
export function chinaDate(d = new Date(), offsetDays = 0) {
  const t = new Date(d.getTime() + 8 * 3600 * 1000 + offsetDays * 86400 * 1000)
  return t.toISOString().slice(0, 10)
}

// An RFC 3339 time in +08:00 from a Date (what the API wants for starts_at/ends_at).
export function rfc3339(d) {
  const t = new Date(d.getTime() + 8 * 3600 * 1000)
  return t.toISOString().slice(0, 19) + '+08:00'
}

export function time(s) {
  if (!s) return '—'
  return s.replace('T', ' ').slice(0, 16)
}

export const STATUS_ZH = {
  draft: '草稿', scheduled: '待开始', live: '进行中', paused: '已暂停', ended: '已结束', cancelled: '已取消',
  active: '可用', archived: '已归档', booked: '已预约', checked_in: '已到店', paid: '待取货', completed: '已完成',
  upcoming: '未开始', forming: '拼团中', formed: '已成团', failed: '未成团', issued: '待领取', picked_up: '已领取',
}
export const STATUS_TYPE = {
  draft: 'info', scheduled: 'warning', live: 'success', paused: 'warning', ended: '', cancelled: 'danger',
  active: 'success', archived: 'info', booked: '', checked_in: 'success',
  upcoming: 'warning', forming: 'warning', formed: 'success', failed: 'danger', issued: 'warning', picked_up: 'success',
}
export const KIND_ZH = { cash_off: '满减券', percent_off: '折扣券', gift: '赠品券' }
export const CHANNEL_ZH = {
  article: '公众号文章', moments_ad: '朋友圈广告', store_qr: '门店码', share: '好友分享', channels: '视频号',
  search: '搜索', direct: '直接进入',
}

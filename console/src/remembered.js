// Ids of what HQ created from this browser, for kinds the API cannot list (there is no GET /admin/group-buys).
const key = (kind) => `storeloop.console.${kind}`

export function remembered(kind) {
  try {
    return JSON.parse(localStorage.getItem(key(kind)) || '[]')
  } catch (e) {
    return []
  }
}

export function remember(kind, id) {
  const ids = remembered(kind).filter((x) => x !== id)
  localStorage.setItem(key(kind), JSON.stringify([id, ...ids].slice(0, 200)))
}

export function forget(kind, id) {
  localStorage.setItem(key(kind), JSON.stringify(remembered(kind).filter((x) => x !== id)))
}

// Every store the console knows of. The API has no "all stores" list: stores are listed by city
// (GET /stores?city=), over the cities HQ has opened stores in (kept in this browser) and the usual ones.
import { api } from './api'

const KEY = 'storeloop.console.cities'
const COMMON = ['上海', '杭州', '北京', '深圳', '广州', '成都', '南京', '苏州', '武汉', '重庆', '西安', '天津']

export function knownCities() {
  let saved = []
  try {
    saved = JSON.parse(localStorage.getItem(KEY) || '[]')
  } catch (e) {
    saved = []
  }
  return [...new Set([...saved, ...COMMON])]
}

export function rememberCity(city) {
  const saved = knownCities().filter((c) => !COMMON.includes(c))
  if (!saved.includes(city) && !COMMON.includes(city)) localStorage.setItem(KEY, JSON.stringify([...saved, city]))
}

export async function allStores() {
  const pages = await Promise.all(knownCities().map((city) => api.get('/stores', { city, limit: 100 }).then((r) => r.items || [])))
  const byId = new Map()
  for (const s of pages.flat()) byId.set(s.store_id, s)
  return [...byId.values()].sort((a, b) => a.store_id.localeCompare(b.store_id))
}

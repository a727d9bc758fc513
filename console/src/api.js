// The one place the console talks HTTP: the API's base from config.json, the session token, error envelopes.
import { reactive } from 'vue'

export const config = reactive({ api_base: '', local: false, refresh_seconds: 10, loaded: false })

export async function loadConfig() {
  try {
    const resp = await fetch(`${import.meta.env.BASE_URL}config.json`, { cache: 'no-store' })
    if (resp.ok) Object.assign(config, await resp.json())
  } catch (e) {
    // deployed without a config.json: same origin, the API under /api
    config.api_base = '/api'
  }
  config.loaded = true
}

export class ApiError extends Error {
  constructor(status, error) {
    super((error && error.message) || `HTTP ${status}`)
    this.status = status
    this.code = (error && error.code) || (status === 0 ? 'NETWORK' : `HTTP_${status}`)
    this.details = (error && error.details) || []
    this.request_id = error && error.request_id
  }
}

let tokenSource = () => null
let onUnauthenticated = () => {}
export function bindSession(getToken, unauthenticated) {
  tokenSource = getToken
  onUnauthenticated = unauthenticated
}

function newKey() {
  if (globalThis.crypto && crypto.randomUUID) return crypto.randomUUID()
  return `k-${Date.now()}-${Math.random().toString(16).slice(2)}`
}

export async function request(method, path, { body, query, idempotent = false, auth = true } = {}) {
  let url = `${config.api_base}${path}`
  if (query) {
    const q = new URLSearchParams()
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, v)
    const s = q.toString()
    if (s) url += `?${s}`
  }
  const headers = {}
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  const token = auth ? tokenSource() : null
  if (token) headers.Authorization = `Bearer ${token}`
  if (idempotent) headers['Idempotency-Key'] = newKey()
  let resp
  try {
    resp = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  } catch (e) {
    throw new ApiError(0, { code: 'NETWORK', message: String(e.message || e) })
  }
  const text = await resp.text()
  let data = null
  try {
    data = text ? JSON.parse(text) : null
  } catch (e) {
    data = null
  }
  if (!resp.ok) {
    const err = new ApiError(resp.status, data && data.error)
    if (resp.status === 401 && auth) onUnauthenticated(err)
    throw err
  }
  return data
}

export const api = {
  get: (path, query) => request('GET', path, { query }),
  post: (path, body, opts = {}) => request('POST', path, { body: body === undefined ? {} : body, ...opts }),
  create: (path, body) => request('POST', path, { body, idempotent: true }),
  patch: (path, body) => request('PATCH', path, { body }),
  del: (path) => request('DELETE', path),
}

// Every page of a list ({"items", "next"}), up to `max` items.
export async function listAll(path, query = {}, max = 500) {
  const items = []
  let cursor = null
  do {
    const page = await api.get(path, { ...query, limit: 100, cursor })
    if (Array.isArray(page)) return page
    items.push(...(page.items || []))
    cursor = page.next
  } while (cursor && items.length < max)
  return items
}

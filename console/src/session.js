// Who is signed in: the token from the console login and what it says (roles, store ids, clerk or manager).
// The claims are read only to decide what to show; the API checks every request itself.
import { computed, reactive } from 'vue'
import { bindSession } from './api'

const KEY = 'storeloop.console.session'

function claimsOf(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')
    const json = decodeURIComponent(
      atob(part + '='.repeat((4 - (part.length % 4)) % 4))
        .split('')
        .map((c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0'))
        .join(''),
    )
    return JSON.parse(json)
  } catch (e) {
    return {}
  }
}

export const session = reactive({ token: null, member_id: null, roles: [], store_ids: [], staff_role: null, exp: 0 })

export function signIn(login) {
  const claims = claimsOf(login.token)
  Object.assign(session, {
    token: login.token,
    member_id: login.member_id || claims.sub,
    roles: login.roles || claims.roles || ['member'],
    store_ids: login.store_ids || claims.store_ids || [],
    staff_role: claims.staff_role || null,
    exp: claims.exp || Math.floor(Date.now() / 1000) + (login.expires_in || 7200),
  })
  sessionStorage.setItem(KEY, JSON.stringify(session))
}

export function signOut() {
  Object.assign(session, { token: null, member_id: null, roles: [], store_ids: [], staff_role: null, exp: 0 })
  sessionStorage.removeItem(KEY)
}

export function restore() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(KEY) || 'null')
    if (saved && saved.token && saved.exp > Date.now() / 1000) Object.assign(session, saved)
  } catch (e) {
    sessionStorage.removeItem(KEY)
  }
}

export const isAdmin = computed(() => session.roles.includes('admin'))
export const isStaff = computed(() => session.roles.includes('staff'))
export const isManager = computed(() => isStaff.value && session.staff_role === 'manager')
export const signedIn = computed(() => !!session.token)
export const roleLabel = computed(() =>
  isAdmin.value ? '总部管理员' : isManager.value ? '店长' : isStaff.value ? '店员' : '会员',
)
// Can this caller see the store's numbers / reverse a verification there? (manager of that store, or admin)
export function managesStore(storeId) {
  return isAdmin.value || (isManager.value && session.store_ids.includes(storeId))
}

let expired = () => {}
export function onExpired(fn) {
  expired = fn
}
bindSession(
  () => session.token,
  () => {
    signOut()
    expired()
  },
)

// Pages and who may see them; the menu shows only what the caller's role may open.
import { createRouter, createWebHistory } from 'vue-router'
import { isAdmin, isStaff, onExpired, session, signedIn } from './session'

export const PAGES = [
  { path: '/dashboard', name: 'dashboard', title: '数据看板', icon: 'DataLine', who: 'admin', component: () => import('./pages/Dashboard.vue') },
  { path: '/campaigns', name: 'campaigns', title: '营销活动', icon: 'Promotion', who: 'admin', component: () => import('./pages/Campaigns.vue') },
  { path: '/templates', name: 'templates', title: '优惠券模板', icon: 'Ticket', who: 'admin', component: () => import('./pages/Templates.vue') },
  { path: '/flash-sales', name: 'flash-sales', title: '限时秒杀', icon: 'Lightning', who: 'admin', component: () => import('./pages/FlashSales.vue') },
  { path: '/group-buys', name: 'group-buys', title: '拼团', icon: 'UserFilled', who: 'admin', component: () => import('./pages/GroupBuys.vue') },
  { path: '/rewards', name: 'rewards', title: '积分商城', icon: 'Present', who: 'admin', component: () => import('./pages/Rewards.vue') },
  { path: '/sources', name: 'sources', title: '顾客来源', icon: 'DataAnalysis', who: 'admin', component: () => import('./pages/Sources.vue') },
  { path: '/products', name: 'products', title: '商品与库存', icon: 'Goods', who: 'admin', component: () => import('./pages/Products.vue') },
  { path: '/journeys', name: 'journeys', title: '自动化旅程', icon: 'Connection', who: 'admin', component: () => import('./pages/Journeys.vue') },
  { path: '/stores', name: 'stores', title: '门店与员工', icon: 'Shop', who: 'admin', component: () => import('./pages/Stores.vue') },
  { path: '/store/:storeId?', name: 'store', title: '门店今日', icon: 'Calendar', who: 'staff', component: () => import('./pages/StoreDay.vue') },
]

export function mayOpen(page) {
  if (page.who === 'admin') return isAdmin.value
  if (page.who === 'staff') return isAdmin.value || isStaff.value
  return signedIn.value
}

export function homeFor() {
  if (isAdmin.value) return '/dashboard'
  if (isStaff.value) return `/store/${session.store_ids[0] || ''}`
  return '/login'
}

export const router = createRouter({
  history: createWebHistory(import.meta.env.BASE_URL),
  routes: [
    { path: '/login', name: 'login', component: () => import('./pages/Login.vue'), meta: { public: true } },
    { path: '/', redirect: () => homeFor() },
    ...PAGES.map((p) => ({ path: p.path, name: p.name, component: p.component, meta: { page: p } })),
    { path: '/:rest(.*)*', redirect: () => homeFor() },
  ],
})

router.beforeEach((to) => {
  if (to.meta.public) return true
  if (!signedIn.value) return { path: '/login', query: { next: to.fullPath } }
  const page = to.meta.page
  if (page && !mayOpen(page)) return homeFor()
  return true
})

onExpired(() => router.push({ path: '/login', query: { expired: '1' } }))

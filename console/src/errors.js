// The API's error codes in Chinese; the API's own (English) message is the fallback for a code not listed here.
const ZH = {
  VALIDATION_FAILED: '输入有误，请检查标红的字段',
  METHOD_NOT_ALLOWED: '不支持该操作',
  UNAUTHENTICATED: '登录已失效，请重新扫码登录',
  FORBIDDEN: '没有权限执行此操作',
  NOT_FOUND: '找不到该记录',
  RATE_LIMITED: '操作太频繁，请稍后再试',
  PAYLOAD_TOO_LARGE: '提交的内容太大',
  STARTING: '服务正在启动，请稍候',
  UPSTREAM_UNAVAILABLE: '微信服务暂时不可用，请稍后再试',
  IDEMPOTENCY_KEY_REUSED: '重复提交的内容不一致',
  IDEMPOTENCY_IN_PROGRESS: '上一次提交仍在处理中，请稍候',
  WECHAT_LOGIN_FAILED: '微信登录失败',
  TICKET_NOT_PENDING: '二维码已过期或已使用，请刷新',
  STORE_EXISTS: '门店编号已存在',
  PRODUCT_EXISTS: '商品 SKU 已存在',
  CAMPAIGN_NOT_DRAFT: '只有草稿状态的活动可以编辑',
  CAMPAIGN_NOT_LIVE: '活动未在进行中',
  CAMPAIGN_NOT_PAUSED: '活动未暂停',
  CAMPAIGN_ALREADY_PUBLISHED: '活动已发布',
  CAMPAIGN_ENDED: '活动已结束',
  INVALID_STATE: '当前状态下不能执行此操作',
  TEMPLATE_ARCHIVED: '券模板已归档',
  SOLD_OUT: '券已领完',
  CLAIM_LIMIT_REACHED: '已达到每人限领数量',
  DAILY_LIMIT_REACHED: '今日发放数量已满',
  NOT_STORE_STAFF: '您不是该门店的员工',
  COUPON_NOT_FOUND: '券码不存在',
  COUPON_ALREADY_REDEEMED: '该券已核销',
  COUPON_EXPIRED: '该券已过期',
  COUPON_NOT_YET_VALID: '该券尚未生效',
  COUPON_NOT_VALID_HERE: '该券不适用于本门店或本渠道',
  COUPON_NOT_APPLICABLE: '订单中没有该券适用的商品',
  MIN_SPEND_NOT_MET: '未达到最低消费金额',
  QR_EXPIRED: '二维码已过期，请让顾客刷新',
  ALREADY_REVERSED: '该核销已撤销',
  REVERSAL_WINDOW_CLOSED: '已超过 24 小时，不能撤销',
  SLOT_FULL: '该时段已约满',
  ALREADY_BOOKED: '已有预约',
  ALREADY_CHECKED_IN: '已到店签到',
  APPOINTMENT_NOT_BOOKED: '预约不是待到店状态',
  OUT_OF_STOCK: '库存不足',
  PRODUCT_INACTIVE: '商品已下架',
  ORDER_NOT_PAID: '订单未支付',
  PICKUP_CODE_MISMATCH: '取货码不正确',
  WRONG_PICKUP_CODE: '取货码不正确',
  INSUFFICIENT_POINTS: '积分不足',
  FLASH_SALE_NOT_LIVE: '秒杀未在进行中',
  PURCHASE_LIMIT_REACHED: '已达到每人限购数量',
  NOT_SOLD_AT_STORE: '该门店不参与此活动',
  GROUP_BUY_NOT_LIVE: '拼团活动未在进行中',
  GROUP_FULL: '该团已满',
  GROUP_NOT_FORMING: '该团已失败或已过期',
  ALREADY_IN_GROUP: '已在该团中',
  GROUP_NOT_FORMED: '拼团尚未成团',
  GROUP_FORMING: '拼团进行中，失败时会自动退款',
  ALREADY_PICKED_UP: '礼品已领取',
  NOT_A_GIFT: '只有礼品可以到店领取',
  SCENE_NOT_FOUND: '二维码不存在',
  NETWORK: '网络连接失败，请检查服务是否在运行',
}

export function errorText(err) {
  if (!err) return ''
  const code = err.code
  const zh = code && ZH[code]
  const msg = err.message || ''
  const details = (err.details || []).filter((d) => d && d.field)
  if (code === 'VALIDATION_FAILED' && details.length) {
    return `${zh}：${details.map((d) => `${d.field}（${d.message || d.issue}）`).join('；')}`
  }
  if (zh) return msg && msg !== zh ? `${zh}（${msg}）` : zh
  return msg || code || String(err)
}

export function fieldErrors(err) {
  // VALIDATION_FAILED details: [{"field", "issue", "message"?}] -> {"field": "issue/message"}
  const out = {}
  for (const d of (err && err.details) || []) {
    if (d && d.field) out[d.field] = d.message || d.issue
  }
  return out
}

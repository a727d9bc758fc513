// The console's chart options: a campaign's funnel, its numbers by source and a store's daily trend.
export function funnelOption(a) {
  const steps = [
    { name: '领取', value: a.claimed || 0 },
    { name: '核销', value: a.redeemed || 0 },
    { name: '下单', value: a.orders || 0 },
    { name: '新会员', value: a.new_members || 0 },
  ]
  return {
    tooltip: { trigger: 'item', formatter: '{b}: {c}' },
    series: [{
      type: 'funnel', sort: 'none', left: '10%', width: '80%', top: 10, bottom: 10, minSize: '8%',
      label: { show: true, position: 'inside', formatter: '{b} {c}' }, data: steps,
    }],
  }
}

export function trendOption(days) {
  const dates = days.map((d) => d.date.slice(5))
  return {
    tooltip: { trigger: 'axis' },
    legend: { data: ['到店', '核销', '订单', '新会员', '营收（元）'], bottom: 0 },
    grid: { left: 40, right: 50, top: 36, bottom: 50 },
    xAxis: { type: 'category', data: dates },
    yAxis: [{ type: 'value', minInterval: 1 }, { type: 'value', name: '元', splitLine: { show: false } }],
    series: [
      { name: '到店', type: 'line', data: days.map((d) => d.visits || 0) },
      { name: '核销', type: 'line', data: days.map((d) => d.redemptions || 0) },
      { name: '订单', type: 'line', data: days.map((d) => d.orders || 0) },
      { name: '新会员', type: 'line', data: days.map((d) => d.new_members || 0) },
      { name: '营收（元）', type: 'bar', yAxisIndex: 1, data: days.map((d) => (d.revenue_fen || 0) / 100), itemStyle: { opacity: 0.5 } },
    ],
  }
}

// A campaign's by-source rows as grouped bars: views, claims, redemptions and orders per source.
export function sourcesOption(rows, labelOf) {
  const steps = [['views', '浏览'], ['claimed', '领取'], ['redeemed', '核销'], ['orders', '下单']]
  return {
    tooltip: { trigger: 'axis' },
    legend: { data: steps.map((s) => s[1]), bottom: 0 },
    grid: { left: 40, right: 20, top: 20, bottom: 60 },
    xAxis: { type: 'category', data: rows.map(labelOf), axisLabel: { interval: 0 } },
    yAxis: { type: 'value', minInterval: 1 },
    series: steps.map(([k, name]) => ({ name, type: 'bar', data: rows.map((r) => r[k] || 0) })),
  }
}

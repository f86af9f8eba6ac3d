// The page's labels in English and 简体中文. Region names are the shop's own (陕北, 关中, 陕南: from
// statistics' REGIONS) and stay as they are in both.
export type Language = 'en' | 'zh';

const labels = {
  title: { en: 'Shop console', zh: '商店控制台' },
  switch_to: { en: '简体中文', zh: 'English' },
  connected: { en: 'live', zh: '实时' },
  connecting: { en: 'connecting…', zh: '连接中…' },
  map: { en: 'Shop map', zh: '商店拓扑' },
  map_hint: {
    en: 'Each region has its order instance, its partition of topic “order” and its warehouse; statistics counts them all. A dot is green when the instance is ready.',
    zh: '每个区域有自己的订单实例、主题 order 的一个分区和自己的仓储；统计服务汇总全部。圆点为绿色表示实例已就绪。',
  },
  figures: { en: 'Figures per region', zh: '各区域数据' },
  region: { en: 'Region', zh: '区域' },
  orders: { en: 'Orders', zh: '订单数' },
  revenue: { en: 'Revenue (yuan)', zh: '营业额（元）' },
  rate: { en: 'Orders/s', zh: '每秒订单' },
  warehouse_lag: { en: 'Warehouse lag', zh: '仓储积压' },
  statistics_lag: { en: 'Statistics lag', zh: '统计积压' },
  total: { en: 'Total', zh: '合计' },
  chart: { en: 'Orders per second (last minute)', zh: '每秒订单（最近一分钟）' },
  place: { en: 'Place an order', zh: '下单' },
  place_button: { en: 'Place order', zh: '提交订单' },
  placing: { en: 'placing…', zh: '提交中…' },
  placed_ok: { en: 'Placed', zh: '已下单' },
  failed: { en: 'Failed', zh: '失败' },
  search: { en: 'Where is my order?', zh: '查询订单' },
  search_button: { en: 'Look up', zh: '查询' },
  searching: { en: 'looking…', zh: '查询中…' },
  not_found: { en: 'No such order', zh: '没有这个订单' },
  feed: { en: 'Latest orders', zh: '最新订单' },
  feed_hint: {
    en: 'The seed’s verification table, filled in live: each order as it is placed, shipped by its warehouse and counted by statistics.',
    zh: '原文的验证表，实时填写：每个订单下单、由本区域仓储发货、被统计服务统计。',
  },
  order_id: { en: 'Order id', zh: '订单号' },
  expected_order: { en: 'Order instance', zh: '期望订单' },
  expected_repository: { en: 'Warehouse', zh: '期望仓储' },
  expected_statistics: { en: 'Statistics', zh: '期望统计' },
  partition: { en: 'Partition', zh: 'Topic分区' },
  offset: { en: 'Offset', zh: '偏移量' },
  money: { en: 'Money', zh: '金额' },
  result: { en: 'Progress', zh: '测试结果' },
  placed: { en: 'placed', zh: '已下单' },
  shipped: { en: 'shipped', zh: '已发货' },
  counted: { en: 'counted', zh: '已统计' },
  waiting: { en: 'waiting', zh: '等待中' },
  unknown: { en: 'unknown', zh: '未知' },
  ready: { en: 'ready', zh: '就绪' },
  not_ready: { en: 'not ready', zh: '未就绪' },
  down: { en: 'unreachable', zh: '无法连接' },
  lag: { en: 'lag', zh: '积压' },
  end_offset: { en: 'end offset', zh: '末尾偏移' },
  at: { en: 'at', zh: '于' },
  time_unknown: { en: 'before', zh: '早于' },
  by: { en: 'by', zh: '由' },
  user: { en: 'user', zh: '用户' },
  written: { en: 'written to Kafka', zh: '写入 Kafka' },
  lookup_cost: { en: 'lookup', zh: '查找' },
  reads: { en: 'reads', zh: '次读取' },
  records: { en: 'records', zh: '条消息' },
} as const;

export type Label = keyof typeof labels;

let language: Language = (localStorage.getItem('kd-language') as Language) === 'zh' ? 'zh' : 'en';

export function current(): Language {
  return language;
}

export function t(label: Label): string {
  return labels[label][language];
}

export function setLanguage(next: Language): void {
  language = next;
  localStorage.setItem('kd-language', next);
  document.documentElement.lang = next === 'zh' ? 'zh-CN' : 'en';
  for (const element of document.querySelectorAll<HTMLElement>('[data-i18n]')) {
    element.textContent = t(element.dataset.i18n as Label);
  }
}

// What the gateway sends on /console/events (src/gateway/shop_view.hpp) and answers on /orders/{id}
// (src/gateway/order_story.hpp).

export interface Health {
  instance: string;
  reachable: boolean | null;
  ready: boolean | null;
  reason: string;
}

export interface Region {
  partition: number;
  name: string;
  orders: number;
  revenue: number;
  rate: number;
  order: Health;
  repository: Health;
  warehouse_lag: number | null;
  statistics_lag: number | null;
  shipped_through: number | null;
  counted_through: number | null;
}

export interface Status {
  regions: Region[];
  statistics: Health;
  total: { orders: number; revenue: number };
  chart: { start: number; series: number[][] };
}

export interface Row {
  order_id: string;
  partition: number;
  offset: number;
  written_ms: number;
  money: number;
  user_id: string;
  shipped_ms: number | null;
  counted_ms: number | null;
}

export interface Update {
  rows: Row[];
  status?: Status;
}

export interface Stage {
  by: string;
  done: boolean | null;
  at_ms?: number | null;
  by_ms?: number | null;
  error?: string;
}

export interface Story {
  order_id: string;
  partition: number;
  placed: {
    by: string;
    partition: number;
    offset: number;
    written_ms: number;
    time: number;
    money: number;
    user_id: string;
  };
  shipped: Stage;
  counted: Stage;
  lookup: { reads: number; records: number };
}

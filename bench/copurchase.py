"""Co-purchase counts: write units a paid order adds (recommendations), measured against the bound chosen.

What it measures, in one run against one local cloud: paid sales counted by `data.recommendations.count_sale`
(the journeys stream consumer's call per paid order), the TransactWriteItems it sends captured from botocore,
and each written item's write units from its size by DynamoDB's rules (2 WCU per KB, transactional). The sales
are made with every product's neighbour list already full (NEIGHBOURS entries), the steady state of a catalogue
with millions of sales: its items never grow past that. The bound: 2 WCU for the marker, for each product of the
basket one neighbour item ≤ 1 KB (2 WCU), one best-sellers item ≤ 2 KB (4 WCU), the member's recent list (2 WCU).
"""

from __future__ import annotations

import os
from datetime import date

from bench.claim import _item_size, _wcu


def main() -> None:
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    from bench.recording import RequestRecorder
    from local.cloud import LocalCloud
    from local.wechat_fake import WeChatFake
    from storeloop.data import recommendations as data
    from storeloop.data.models import Entity
    from storeloop.domain.copurchase import BESTSELLERS, MAX_BASKET, NEIGHBOURS

    wechat = WeChatFake(port=0).start()
    cloud = LocalCloud(wechat_base=wechat.base_url).start()
    try:
        recorder = RequestRecorder()
        Entity._get_connection().connection.client.meta.events.register("before-parameter-build.dynamodb", recorder)
        catalogue = [f"sku-{i:05d}-medium" for i in range(400)]  # 16-character skus, a realistic length
        day = date(2026, 12, 1)
        # Fill every neighbour list and the store's best sellers: the steady state.
        for i in range(0, len(catalogue), MAX_BASKET):
            data.count_sale(f"fill:{i}", None, "s1", catalogue[i:i + MAX_BASKET], {}, day)
        for i in range(0, len(catalogue) - MAX_BASKET, 7):
            data.count_sale(f"mix:{i}", None, "s1", catalogue[i:i + MAX_BASKET:3], {}, day)
        print(f"bound: {NEIGHBOURS} neighbours per product, {BESTSELLERS} best sellers per store, "
              f"{MAX_BASKET} products per basket")
        print(f"{'basket':>7} {'items':>6} {'WCU':>5} {'bound':>6} {'largest item B':>15}")
        for n in (1, 2, 3, 5, 10, 20):
            recorder.calls, recorder.on = [], True
            assert data.count_sale(f"bench:{n}", "m_bench_member_0001", "s1", catalogue[100:100 + n], {}, day)
            recorder.on = False
            writes = [c for op, p in recorder.calls if op == "TransactWriteItems" for c in p["TransactItems"]]
            sizes = [_item_size(w["Put"]["Item"]) for w in writes if "Put" in w]
            wcu = sum(_wcu(s, True) for s in sizes)
            bound = 2 + (2 * n if n > 1 else 0) + 4 + 2
            print(f"{n:7} {len(sizes):6} {wcu:5} {bound:6} {max(sizes):15}")
    finally:
        cloud.stop()
        wechat.stop()


if __name__ == "__main__":
    main()

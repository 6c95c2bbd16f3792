"""The weekly cost review's pure maths: ISO weeks (``weeks``), the volume/mix/price split (``decompose``),
movers, efficiency, what-if, the assembled ``Review`` (``model``) and its JSON (``as_json``). Reads come
through ``queries.review``; ``load.weekly_review`` joins the two for the page and the report alike."""

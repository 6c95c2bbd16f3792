"""Chart builders: DataFrames (or a ``Review``) in, Vega-Lite specs out. No Streamlit, no database, so the
dashboard draws them and the weekly report renders the very same charts to PNG.

``base`` (shared parts), ``daily`` (per UTC day), ``rank`` (rankings and matrices), ``health`` (coverage),
``weekly`` (the weekly review), ``budgets`` (spend against a limit with its forecast band)."""

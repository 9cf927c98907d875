"""The response cache, catalogues and item events, and an index for retention."""

SQLITE = (
    # Retention deletes by age across tenants.
    "CREATE INDEX interactions_by_start_time ON interactions (start_time_us)",
    """
    CREATE TABLE response_cache (
      tenant_id TEXT NOT NULL,
      cache_key TEXT NOT NULL,
      value BLOB NOT NULL,
      create_time_us INTEGER NOT NULL,
      expire_time_us INTEGER NOT NULL,
      purge_time_us INTEGER NOT NULL,
      PRIMARY KEY (tenant_id, cache_key)
    )
    """,
    "CREATE INDEX response_cache_by_purge_time ON response_cache (purge_time_us)",
    """
    CREATE TABLE catalogue_items (
      tenant_id TEXT NOT NULL,
      item_id TEXT NOT NULL,
      title TEXT NOT NULL,
      description TEXT NOT NULL,
      tags_json TEXT NOT NULL,
      update_time_us INTEGER NOT NULL,
      PRIMARY KEY (tenant_id, item_id)
    )
    """,
    """
    CREATE TABLE item_events (
      tenant_id TEXT NOT NULL,
      event_id TEXT NOT NULL,
      user_id TEXT NOT NULL,
      item_id TEXT NOT NULL,
      kind TEXT NOT NULL,
      event_time_us INTEGER NOT NULL,
      PRIMARY KEY (tenant_id, event_id)
    )
    """,
    "CREATE INDEX item_events_by_user ON item_events (tenant_id, user_id, event_time_us, event_id)",
    "CREATE INDEX item_events_by_time ON item_events (tenant_id, event_time_us)",
)

POSTGRES = (
    "CREATE INDEX interactions_by_start_time ON interactions (start_time_us)",
    """
    CREATE TABLE response_cache (
      tenant_id TEXT NOT NULL,
      cache_key TEXT NOT NULL,
      value BYTEA NOT NULL,
      create_time_us BIGINT NOT NULL,
      expire_time_us BIGINT NOT NULL,
      purge_time_us BIGINT NOT NULL,
      PRIMARY KEY (tenant_id, cache_key)
    )
    """,
    "CREATE INDEX response_cache_by_purge_time ON response_cache (purge_time_us)",
    """
    CREATE TABLE catalogue_items (
      tenant_id TEXT NOT NULL,
      item_id TEXT NOT NULL,
      title TEXT NOT NULL,
      description TEXT NOT NULL,
      tags_json TEXT NOT NULL,
      update_time_us BIGINT NOT NULL,
      PRIMARY KEY (tenant_id, item_id)
    )
    """,
    """
    CREATE TABLE item_events (
      tenant_id TEXT NOT NULL,
      event_id TEXT NOT NULL,
      user_id TEXT NOT NULL,
      item_id TEXT NOT NULL,
      kind TEXT NOT NULL,
      event_time_us BIGINT NOT NULL,
      PRIMARY KEY (tenant_id, event_id)
    )
    """,
    "CREATE INDEX item_events_by_user ON item_events (tenant_id, user_id, event_time_us, event_id)",
    "CREATE INDEX item_events_by_time ON item_events (tenant_id, event_time_us)",
)

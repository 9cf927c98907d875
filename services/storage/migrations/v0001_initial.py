"""Tenants, hashed API keys, and interactions, which are also the usage ledger."""

SQLITE = (
    """
    CREATE TABLE tenants (
      tenant_id TEXT PRIMARY KEY,
      display_name TEXT NOT NULL,
      requests_per_minute INTEGER NOT NULL DEFAULT 0,
      tokens_per_minute INTEGER NOT NULL DEFAULT 0,
      max_concurrent_requests INTEGER NOT NULL DEFAULT 0,
      daily_spend_limit_micros INTEGER NOT NULL DEFAULT 0,
      create_time_us INTEGER NOT NULL
    )
    """,
    """
    CREATE TABLE api_keys (
      key_id TEXT PRIMARY KEY,
      tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id),
      display_name TEXT NOT NULL,
      key_prefix TEXT NOT NULL,
      key_hash TEXT NOT NULL UNIQUE,
      create_time_us INTEGER NOT NULL,
      revoke_time_us INTEGER
    )
    """,
    "CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id, create_time_us, key_id)",
    # One row per interaction, idempotent by (tenant_id, interaction_id):
    # the usage ledger is these rows' token and cost columns.
    """
    CREATE TABLE interactions (
      tenant_id TEXT NOT NULL,
      interaction_id TEXT NOT NULL,
      request_id TEXT NOT NULL,
      task TEXT NOT NULL,
      requested_model TEXT NOT NULL,
      request_json TEXT NOT NULL,
      response_text TEXT NOT NULL,
      finish_reason INTEGER NOT NULL,
      answer_source INTEGER NOT NULL,
      provider TEXT NOT NULL,
      model TEXT NOT NULL,
      degraded INTEGER NOT NULL,
      degraded_reason TEXT NOT NULL,
      attempts INTEGER NOT NULL,
      input_tokens INTEGER NOT NULL,
      output_tokens INTEGER NOT NULL,
      cost_micros INTEGER NOT NULL,
      currency TEXT NOT NULL,
      status_code INTEGER NOT NULL,
      start_time_us INTEGER NOT NULL,
      latency_ms INTEGER NOT NULL,
      record_time_us INTEGER NOT NULL,
      PRIMARY KEY (tenant_id, interaction_id)
    )
    """,
    "CREATE INDEX interactions_by_tenant_time"
    " ON interactions (tenant_id, start_time_us, interaction_id)",
)

POSTGRES = (
    """
    CREATE TABLE tenants (
      tenant_id TEXT PRIMARY KEY,
      display_name TEXT NOT NULL,
      requests_per_minute INTEGER NOT NULL DEFAULT 0,
      tokens_per_minute INTEGER NOT NULL DEFAULT 0,
      max_concurrent_requests INTEGER NOT NULL DEFAULT 0,
      daily_spend_limit_micros BIGINT NOT NULL DEFAULT 0,
      create_time_us BIGINT NOT NULL
    )
    """,
    """
    CREATE TABLE api_keys (
      key_id TEXT PRIMARY KEY,
      tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id),
      display_name TEXT NOT NULL,
      key_prefix TEXT NOT NULL,
      key_hash TEXT NOT NULL UNIQUE,
      create_time_us BIGINT NOT NULL,
      revoke_time_us BIGINT
    )
    """,
    "CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id, create_time_us, key_id)",
    """
    CREATE TABLE interactions (
      tenant_id TEXT NOT NULL,
      interaction_id TEXT NOT NULL,
      request_id TEXT NOT NULL,
      task TEXT NOT NULL,
      requested_model TEXT NOT NULL,
      request_json TEXT NOT NULL,
      response_text TEXT NOT NULL,
      finish_reason INTEGER NOT NULL,
      answer_source INTEGER NOT NULL,
      provider TEXT NOT NULL,
      model TEXT NOT NULL,
      degraded BOOLEAN NOT NULL,
      degraded_reason TEXT NOT NULL,
      attempts INTEGER NOT NULL,
      input_tokens INTEGER NOT NULL,
      output_tokens INTEGER NOT NULL,
      cost_micros BIGINT NOT NULL,
      currency TEXT NOT NULL,
      status_code INTEGER NOT NULL,
      start_time_us BIGINT NOT NULL,
      latency_ms BIGINT NOT NULL,
      record_time_us BIGINT NOT NULL,
      PRIMARY KEY (tenant_id, interaction_id)
    )
    """,
    "CREATE INDEX interactions_by_tenant_time"
    " ON interactions (tenant_id, start_time_us, interaction_id)",
)

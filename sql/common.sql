-- Shared by every query (mptcp-trace export tables, docs/export.md). Runs in DuckDB and in
-- Spark SQL unchanged: the runners (sql/run_duckdb.py, contrib/spark/mptcp_export_job.py)
-- register the tables `connections`, `subflows`, `mappings`, `data_acks`, `events`, `checks`
-- as views over all captures' Parquet files, then define these views.
--
-- conn_tokens: every token that names a connection (its server's and its client's, where its
-- keys were seen in some capture), with the connection's server token as the key
-- `conn_token` that all queries group by.
CREATE OR REPLACE TEMPORARY VIEW conn_tokens AS
SELECT DISTINCT server_token AS conn_token, server_token AS token FROM connections WHERE server_token IS NOT NULL
UNION
SELECT DISTINCT server_token AS conn_token, client_token AS token FROM connections
WHERE server_token IS NOT NULL AND client_token IS NOT NULL;

-- sf: every subflow of every capture with its connection's key. A subflow's `token` is the
-- one its MP_JOIN SYN carried (the receiver's) or, for the initial subflow, the server's. A
-- token no capture saw the keys of stays its own key. `by_client`: the connection's client
-- opened the subflow, so its c2s is the connection's c2s. Where the keys are known this comes
-- from the token (a SYN carrying the server's token was sent by the client), which holds even
-- when the capture with the join lacked the connection's handshake and guessed the roles.
-- (No semicolon in these comments: the DuckDB runner splits statements at them.)
CREATE OR REPLACE TEMPORARY VIEW sf AS
SELECT s.*,
       coalesce(t.conn_token, s.token) AS conn_token,
       CASE WHEN t.conn_token IS NULL THEN s.opened_by_client ELSE s.token = t.conn_token END AS by_client
FROM subflows s LEFT JOIN conn_tokens t ON s.token = t.token
WHERE s.token IS NOT NULL;

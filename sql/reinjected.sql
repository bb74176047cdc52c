-- Reinjected bytes per connection and direction, from the DSS mappings of all captures: the
-- data bytes that mappings at distinct places of the subflow sequence spaces carried, minus
-- the distinct data bytes (the union of the mapped DSN ranges). A TCP retransmission repeats
-- its mapping (the same subflow and subflow sequence number): counted once. Window probes
-- (1-byte mappings) and infinite mappings (length 0) are left out; a DATA_FIN takes no byte.
-- DSNs are unsigned 64-bit: sums in DECIMAL(21, 0), which both engines have.
WITH m AS (
    SELECT DISTINCT s.conn_token,
           CASE WHEN s.by_client THEN m.direction
                WHEN m.direction = 'c2s' THEN 's2c' ELSE 'c2s' END AS direction,
           m.capture, m.subflow, m.subflow_seq,
           CAST(m.dsn AS DECIMAL(21, 0)) AS dsn,
           CAST(m.length - CASE WHEN m.data_fin THEN 1 ELSE 0 END AS DECIMAL(21, 0)) AS bytes
    FROM mappings m JOIN sf s ON m.capture = s.capture AND m.subflow = s.subflow
    WHERE m.length > 1
),
r AS (
    SELECT conn_token, direction, bytes, dsn AS lo, dsn + bytes AS hi FROM m WHERE bytes > 0
),
o AS (
    SELECT r.*,
           max(hi) OVER (PARTITION BY conn_token, direction ORDER BY lo, hi
                         ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS reach
    FROM r
),
i AS (
    SELECT o.*,
           sum(CASE WHEN reach IS NULL OR lo > reach THEN 1 ELSE 0 END)
               OVER (PARTITION BY conn_token, direction ORDER BY lo, hi ROWS UNBOUNDED PRECEDING) AS island
    FROM o
),
u AS (
    SELECT conn_token, direction, island, max(hi) - min(lo) AS span, sum(bytes) AS carried
    FROM i GROUP BY conn_token, direction, island
)
SELECT conn_token, direction,
       CAST(sum(carried) AS DECIMAL(21, 0)) AS mapped_bytes,
       CAST(sum(span) AS DECIMAL(21, 0)) AS distinct_bytes,
       CAST(sum(carried) - sum(span) AS DECIMAL(21, 0)) AS reinjected_bytes
FROM u
GROUP BY conn_token, direction
ORDER BY conn_token, direction;

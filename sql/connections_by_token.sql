-- One row per MPTCP connection over all captures: subflows, captures (probes) that saw them,
-- and the payload bytes its subflows carried on the wire per direction of the subflow.
SELECT conn_token,
       count(*) AS subflows,
       count(DISTINCT capture) AS captures,
       sum(c2s_bytes) AS subflow_c2s_bytes,
       sum(s2c_bytes) AS subflow_s2c_bytes
FROM sf
GROUP BY conn_token
ORDER BY conn_token;

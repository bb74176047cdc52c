-- Per connection and subflow (named by its 4-tuple, client side first): the capture that saw
-- it, its kind and address ids, the payload bytes it carried per direction of the subflow
-- (c2s: from its SYN's sender), and per direction of the connection (a subflow opened by the
-- server carries the connection's s2c data in its own c2s direction).
SELECT conn_token,
       capture,
       client_addr, client_port, server_addr, server_port,
       kind, client_address_id, server_address_id,
       c2s_bytes, s2c_bytes,
       CASE WHEN by_client THEN c2s_bytes ELSE s2c_bytes END AS conn_c2s_bytes,
       CASE WHEN by_client THEN s2c_bytes ELSE c2s_bytes END AS conn_s2c_bytes
FROM sf
ORDER BY conn_token, client_addr, client_port, server_addr, server_port;

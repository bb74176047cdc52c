-- Connections whose subflows were seen by different captures (probes), with the captures.
SELECT conn_token, count(DISTINCT capture) AS captures, count(*) AS subflows
FROM sf
GROUP BY conn_token
HAVING count(DISTINCT capture) > 1
ORDER BY conn_token;

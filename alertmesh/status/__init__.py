"""``alertmesh status``: what it reads (``sources``: mesh.json, health and metrics endpoints, Kafka, Temporal),
how it reads metrics (``metrics``), how it draws a report (``render``) and the command's loop (``report``)."""

"""The drill: a simulated GitLab REST API v4 on 127.0.0.1 (see ``console.drill.server``).

Map: ``server`` (options, throttle, request log, the request pipeline) served by ``httpd`` (the
HTTP loop), ``auth`` (token checks), ``web`` (errors, parameters, routing) and ``paging``;
``model`` (records) held by ``state`` (``DrillState``); ``views`` (GitLab's JSON entities);
``routes_*`` one per GitLab API area; ``seed`` (the scenario) and ``footholds`` (what the
attacker left); ``cli`` (``incident-console drill``).
"""

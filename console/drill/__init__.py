"""The drill: a simulated GitLab REST API v4 on 127.0.0.1 (see ``console.drill.server``)."""

"""GitLab Incident Console: the headless core (no Textual imports outside ``console.app``)."""

__version__ = "0.1.0"
APP_NAME = "gitlab-incident-console"
USER_AGENT = f"gitlab-incident-console/{__version__}"

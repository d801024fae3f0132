from server.routes.admin import ADMIN_HANDLERS
from server.routes.alerts import ALERT_HANDLERS
from server.routes.api import API_HANDLERS
from server.routes.attachments import ATTACHMENT_HANDLERS
from server.routes.auth import AUTH_HANDLERS
from server.routes.board import BOARD_HANDLERS
from server.routes.collab import COLLAB_HANDLERS
from server.routes.entry_pages import ENTRY_PAGE_HANDLERS
from server.routes.exports import EXPORT_HANDLERS
from server.routes.health import HEALTH_HANDLERS
from server.routes.insight import INSIGHT_HANDLERS
from server.routes.leads import LEADS_HANDLERS
from server.routes.opportunities import OPPORTUNITY_HANDLERS
from server.routes.pages import PAGE_HANDLERS
from server.routes.playbook import PLAYBOOK_HANDLERS
from server.routes.playbook_admin import PLAYBOOK_ADMIN_HANDLERS
from server.routes.templates import TEMPLATE_HANDLERS

ROUTE_HANDLERS = [*AUTH_HANDLERS, *API_HANDLERS, *HEALTH_HANDLERS, *PAGE_HANDLERS, *PLAYBOOK_HANDLERS, *OPPORTUNITY_HANDLERS, *ATTACHMENT_HANDLERS,
                  *ALERT_HANDLERS, *LEADS_HANDLERS, *COLLAB_HANDLERS,
                  *TEMPLATE_HANDLERS, *ENTRY_PAGE_HANDLERS, *EXPORT_HANDLERS, *INSIGHT_HANDLERS,
                  *BOARD_HANDLERS]
ROUTE_HANDLERS += ADMIN_HANDLERS  # users, teams, import, audit log; /password (routes/admin.py)
ROUTE_HANDLERS += PLAYBOOK_ADMIN_HANDLERS  # the playbook editor (routes/playbook_admin.py)

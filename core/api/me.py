"""The signed-in user's own preferences: ``GET`` and ``PATCH /api/v1/me`` (the saved language)."""
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import update

from core.auth import current_user
from core.db import get_session
from core.i18n import LOCALES, current_locale, refresh_locale
from core.models import User

blp = Blueprint("me", __name__, url_prefix="/api/v1/me", description="The signed-in user's preferences.")


class MeSchema(Schema):
    user = fields.String(metadata={"description": "The session's subject"})
    org = fields.String(metadata={"description": "The session's organization"})
    locale = fields.String(metadata={"description": "The language answers are in: fr or en"})
    saved_locale = fields.String(allow_none=True, metadata={"description": "The user's choice, or null to follow "
                                                                          "the browser (else French)"})


class MeChangeSchema(Schema):
    locale = fields.String(required=True, allow_none=True, validate=validate.OneOf(LOCALES),
                           metadata={"description": "fr, en, or null to follow the browser"})


def _me() -> dict:
    user = current_user()
    saved = get_session().get(User, user.id).locale
    return {"user": user.external_id, "org": user.org_id, "locale": current_locale(), "saved_locale": saved}


@blp.route("")
class Me(MethodView):
    @blp.response(200, MeSchema)
    def get(self):
        """Who is signed in and which language the platform speaks to them."""
        return _me()

    @blp.arguments(MeChangeSchema)
    @blp.response(200, MeSchema)
    def patch(self, change):
        """Save the user's language (``fr`` or ``en``), or ``null`` to follow the browser."""
        session = get_session()
        session.execute(update(User).where(User.id == current_user().id).values(locale=change["locale"]))
        session.commit()
        refresh_locale()
        return _me()

"""The API's Blueprint: flask-smorest's, with bounded pages and ``X-Pagination`` documented as it is sent."""
from __future__ import annotations

from functools import wraps

import flask_smorest
from flask_smorest import abort
from flask_smorest.pagination import PaginationMetadataSchema

from core.api.bounds import MAX_PAGE
from core.i18n import _


class Blueprint(flask_smorest.Blueprint):
    """A flask-smorest Blueprint whose paginated routes refuse pages past :data:`MAX_PAGE` and
    document ``X-Pagination`` as the JSON object it is (flask-smorest's documented override point)."""

    def paginate(self, **kwargs):
        """flask-smorest's ``paginate`` (pagination in the view); a page past :data:`MAX_PAGE` is a 422."""
        paginated = super().paginate(None, **kwargs)

        def decorator(func):
            @wraps(func)
            def bounded(*args, pagination_parameters, **view_kwargs):
                if pagination_parameters.page > MAX_PAGE:
                    abort(422, message=_("“page” must be at most %(count)s.", count=MAX_PAGE),
                          errors={"query": {"page": [_("Must be at most %(count)s.", count=MAX_PAGE)]}})
                return func(*args, pagination_parameters=pagination_parameters, **view_kwargs)
            return paginated(bounded)
        return decorator

    def _document_pagination_metadata(self, spec, resp_doc):
        """``X-Pagination`` is a JSON object (total, pages…), so it is documented with ``content``."""
        resp_doc.setdefault("headers", {})[self.PAGINATION_HEADER_NAME] = {
            "description": "Pagination metadata, a JSON object",
            "content": {"application/json": {"schema": PaginationMetadataSchema}},
        }

"""How the bearer token appears in the OpenAPI schema."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.BearerTokenAuthentication"
    name = "bearerToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "A service account's token, `Authorization: Bearer relapp_…`. Created once by a "
                "release manager (Service accounts page or `manage.py create_service_account`)."
            ),
        }

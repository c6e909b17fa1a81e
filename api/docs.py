"""The OpenAPI schema turned into what the documentation page lists."""

from dataclasses import dataclass, field

from drf_spectacular.generators import SchemaGenerator

_METHOD_ORDER = ("get", "post", "put", "patch", "delete")


@dataclass
class Field:
    name: str
    type: str
    required: bool
    description: str = ""


@dataclass
class Operation:
    method: str
    path: str
    summary: str
    description: str
    anchor: str
    parameters: list[Field] = field(default_factory=list)
    body: list[Field] = field(default_factory=list)
    responses: list[tuple[str, str]] = field(default_factory=list)


def _type(schema: dict, components: dict) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        target = components.get(name, {})
        return _type(target, components) if "enum" in target else name
    if "enum" in schema:
        return " | ".join(str(value) for value in schema["enum"] if value not in ("", None))
    if "allOf" in schema:
        return " ".join(_type(part, components) for part in schema["allOf"])
    if "oneOf" in schema:
        return " | ".join(_type(part, components) for part in schema["oneOf"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list of {_type(schema.get('items', {}), components)}"
    return schema.get("format", kind) if kind == "string" and "format" in schema else kind


def _body_fields(operation: dict, components: dict) -> list[Field]:
    content = operation.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema", {})
    if "$ref" in schema:
        schema = components.get(schema["$ref"].rsplit("/", 1)[-1], {})
    required = set(schema.get("required", []))
    return [
        Field(
            name=name,
            type=_type(prop, components),
            required=name in required,
            description=prop.get("description", ""),
        )
        for name, prop in schema.get("properties", {}).items()
        if not prop.get("readOnly")
    ]


def api_operations() -> list[Operation]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema.get("components", {}).get("schemas", {})
    operations = []
    for path, item in schema.get("paths", {}).items():
        for method in _METHOD_ORDER:
            operation = item.get(method)
            if operation is None:
                continue
            operations.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    summary=operation.get("summary", ""),
                    description=operation.get("description", ""),
                    anchor=operation.get("operationId", f"{method}-{path}"),
                    parameters=[
                        Field(
                            name=f"{p['name']} ({p['in']})",
                            type=_type(p.get("schema", {}), components),
                            required=p.get("required", False),
                            # An enum's generated description only repeats its values.
                            description=""
                            if "enum" in p.get("schema", {})
                            else p.get("description", ""),
                        )
                        for p in operation.get("parameters", [])
                    ],
                    body=_body_fields(operation, components),
                    responses=[
                        (code, response.get("description", ""))
                        for code, response in operation.get("responses", {}).items()
                    ],
                )
            )
    return operations

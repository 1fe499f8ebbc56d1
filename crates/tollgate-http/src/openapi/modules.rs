//! Modules: the module schema and the operations under `/public/v1/accounts/modules`.

use serde_json::{Value, json};

use super::ops::{Op, errors, ok, with};
use super::{MODULE_ID, parameter};

pub(super) fn module_schema() -> Value {
    json!({
        "type": "object",
        "description": "A catalog module: a permission scope over a part of the REST API.",
        "required": ["id", "code", "name", "accountTypes"],
        "properties": {
            "id": {"type": "string", "pattern": MODULE_ID, "example": "MOD-1756"},
            "code": {"type": "string", "description": "Stable, kebab-case.", "example": "access-management"},
            "name": {"type": "string", "example": "Access Management"},
            "description": {"type": "string", "description": "Omitted when empty."},
            "accountTypes": {
                "type": "array",
                "description": "The account types that may use the module.",
                "items": {"type": "string", "enum": ["Client", "Vendor", "Operations"]}
            },
            "paths": {
                "type": "array",
                "description": "The path prefixes under `/public/v1/` the module grants; omitted when none.",
                "items": {"type": "string"},
                "example": ["accounts/api-tokens/", "accounts/modules/"]
            }
        }
    })
}

pub(super) fn list_modules() -> Value {
    Op {
        id: "listModules",
        tag: "Modules",
        summary: "List modules",
        description: concat!(
            "Operations callers holding platform-account-management see the whole catalog; ",
            "others their account's enabled modules. RQL on `id`, `code` and `name` (filter and ",
            "`order`), `limit` and `offset`; catalog order unless ordered."
        ),
        parameters: vec![parameter("Limit"), parameter("Offset")],
        body: None,
        responses: with(
            vec![("200", ok("A page of modules.", "ModuleList"))],
            errors(&["400", "401", "403", "429", "503"]),
        ),
        public: false,
    }
    .build()
}

pub(super) fn read_module() -> Value {
    Op {
        id: "getModule",
        tag: "Modules",
        summary: "Read a module",
        description: "One module the caller may see (as in the list); 404 otherwise.",
        parameters: Vec::new(),
        body: None,
        responses: with(
            vec![("200", ok("The module.", "Module"))],
            errors(&["401", "403", "404", "429", "503"]),
        ),
        public: false,
    }
    .build()
}

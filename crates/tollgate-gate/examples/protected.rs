//! A service of the platform guarding its own routes with Tollgate's gate, in process: every
//! request to `/public/v1/billing/…` must carry a bearer token holding the `billing` module,
//! decided in memory (no database round trip for a known token), refused with a problem body
//! otherwise. The service reads Tollgate's database with Tollgate's server key; it never
//! creates one.
//!
//! ```text
//! TOLLGATE_DATABASE_URL=postgres://tollgate@127.0.0.1/tollgate \
//! TOLLGATE_SECRET_KEY=<the base64 key the server uses> \
//! LISTEN=127.0.0.1:8090 cargo run -p tollgate-gate --features actix --example protected
//! curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8090/public/v1/billing/invoices
//! ```

use std::sync::Arc;

use actix_web::{App, HttpMessage, HttpRequest, HttpResponse, HttpServer, web};
use tollgate_domain::ServerKey;
use tollgate_gate::middleware::{Authorized, RequireModule};
use tollgate_gate::{Gate, GateOptions};
use tollgate_store::{PoolOptions, Store};

/// The service's routes: billing's behind the gate, a health check outside it.
pub fn routes(gate: Arc<Gate>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.route("/healthz", web::get().to(HttpResponse::Ok))
            .service(
                web::scope("/public/v1/billing")
                    .wrap(RequireModule::new(gate, "billing"))
                    .route("/invoices", web::get().to(invoices)),
            );
    }
}

/// What the gate left in the request: who is calling.
async fn invoices(req: HttpRequest) -> HttpResponse {
    match req.extensions().get::<Authorized>() {
        Some(who) => HttpResponse::Ok().json(serde_json::json!({
            "account": who.account_id,
            "token": who.token_id,
            "data": [],
        })),
        None => HttpResponse::InternalServerError().finish(),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("TOLLGATE_DATABASE_URL")?;
    let key = ServerKey::from_base64(&std::env::var("TOLLGATE_SECRET_KEY")?)?;
    let store = Store::open_existing(&url, key.derive(), PoolOptions::default())?;
    let gate = Gate::start(store.clone(), store.keyring(), GateOptions::default())?;
    let server = {
        let gate = Arc::clone(&gate);
        HttpServer::new(move || App::new().configure(routes(Arc::clone(&gate))))
            .workers(1)
            .bind(std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:8090".into()))?
            .run()
    };
    actix_web::rt::System::new().block_on(server)?;
    gate.shutdown()?;
    Ok(())
}

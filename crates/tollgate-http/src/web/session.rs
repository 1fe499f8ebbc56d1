//! Sign-in and sessions (SPEC §4).
//!
//! A sign-in link is `/sign-in?ticket=<ticket>` (the ticket format is documented in
//! `tollgate_domain::ticket`). Opening it shows who is about to sign in; **Continue** posts the
//! ticket back, which spends it (its nonce is remembered until it expires, so it works once —
//! and link previews that only GET it do not spend it) and sets the session cookie:
//! `__Host-tollgate-session`, `Secure; HttpOnly; SameSite=Lax; Path=/`, eight hours. Every
//! page re-reads the user and the account, so an administrator who loses the role, or whose
//! account is disabled, is refused at the next request. Sign-out remembers the session id as
//! ended until the cookie would have expired.
//!
//! Key rotation: cookies and tickets signed with a previous server key are accepted until they
//! expire (a retired key only for those from before its retirement); a session's CSRF token is
//! made with the key that signed its cookie. New sessions are signed with the current key and
//! noted by key (`tollgate keys status` counts them).

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use rand::rngs::OsRng;
use time::{Duration, OffsetDateTime};
use tollgate_domain::permission::authorize_collection;
use tollgate_domain::ticket::{Session, SignInError};
use tollgate_domain::{
    Account, AccountStatus, Actor, ActorAccount, KeyId, Operation, User, UserId, Visibility,
};
use tollgate_store::NonceKind;

use super::form::read_pairs;
use super::{Page, TOKENS_PATH, WebError, html, secure_headers, views};
use crate::auth::Caller;
use crate::middleware::RequestMeta;
use crate::state::AppState;

/// The session cookie's name (`__Host-`: Secure, Path=/, no Domain, enforced by browsers).
pub const COOKIE: &str = "__Host-tollgate-session";
/// How long a session lasts.
pub const SESSION_LIFETIME: Duration = Duration::hours(8);
/// The header a script sends its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The signed-in administrator of a request. `Debug` leaves out the CSRF token.
#[derive(Clone)]
pub struct SignedIn {
    /// Acting as the user, exactly as the REST API would.
    pub caller: Caller,
    /// The session.
    pub session: Session,
    /// The key that signed the session's cookie (its CSRF token is made with it).
    pub key_id: KeyId,
    /// This session's CSRF token (for every form).
    pub csrf: String,
    /// The user.
    pub user: User,
    /// Their account.
    pub account: Account,
}

impl std::fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedIn")
            .field("user", &self.user.id)
            .field("account", &self.account.id)
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

impl SignedIn {
    /// The permission for a collection operation, as the REST API decides it.
    pub fn authorize(&self, operation: Operation) -> Result<Visibility, WebError> {
        Ok(authorize_collection(
            &self.caller.actor,
            operation,
            self.caller.catalog.well_known(),
        )?)
    }

    /// Refuses a state-changing request whose CSRF token is not this session's.
    pub fn check_csrf(&self, state: &AppState, token: Option<&str>) -> Result<(), WebError> {
        let key = state.keys.get(self.key_id).map(|keys| &keys.session);
        match (token, key) {
            (Some(token), Some(key)) if self.session.check_csrf(key, token) => Ok(()),
            _ => Err(WebError::Csrf),
        }
    }
}

fn cookie_value<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"'))
}

/// Who may manage tokens in the browser: an administrator of an Active account.
fn admit(user: Option<User>, account: Option<Account>) -> Result<(User, Account), String> {
    let Some(user) = user else {
        return Err("This sign-in names a user that does not exist.".into());
    };
    let Some(account) = account else {
        return Err("This user's account does not exist.".into());
    };
    if account.status != AccountStatus::Active {
        return Err(format!(
            "The account {} is disabled, so its administrators cannot sign in.",
            account.name
        ));
    }
    if !user.admin {
        return Err(format!(
            "Only account administrators can manage API tokens. Ask an administrator of {} for \
             access.",
            account.name
        ));
    }
    Ok((user, account))
}

/// The user and their account, unless `ended` names a session that was signed out (then
/// `None`): one trip to the blocking pool for everything a page checks.
async fn load_user(
    state: &AppState,
    id: UserId,
    ended: Option<(String, OffsetDateTime)>,
) -> Result<Option<(Option<User>, Option<Account>)>, WebError> {
    let store = state.store.clone();
    Ok(
        web::block(move || -> Result<_, tollgate_store::StoreError> {
            if let Some((session, now)) = ended
                && store.nonce_remembered(NonceKind::Session, &session, now)?
            {
                return Ok(None);
            }
            let user = store.user(id)?;
            let account = match &user {
                Some(user) => store.account(user.account_id)?,
                None => None,
            };
            Ok(Some((user, account)))
        })
        .await??,
    )
}

/// The request's session, verified: signed, unexpired, not ended, of an administrator of an
/// Active account.
pub async fn signed_in(req: &HttpRequest, state: &AppState) -> Result<SignedIn, WebError> {
    let now = OffsetDateTime::now_utc();
    let (session, signer) = cookie_value(req, COOKIE)
        .and_then(|text| state.keys.verify_session(text, now, SESSION_LIFETIME).ok())
        .ok_or(WebError::NotSignedIn)?;
    let key_id = signer.id();
    let csrf = session.csrf_token(&signer.session);
    let (user, account) = load_user(state, session.user, Some((session.id.clone(), now)))
        .await?
        .ok_or(WebError::NotSignedIn)?;
    let (user, account) = admit(user, account).map_err(WebError::Refused)?;
    let actor = Actor::User {
        id: user.id,
        name: user.name.to_string(),
        admin: user.admin,
        account: ActorAccount {
            id: account.id,
            name: account.name.to_string(),
            account_type: account.account_type,
            status: account.status,
            modules: account.modules.clone(),
        },
    };
    let caller = Caller {
        actor,
        catalog: state.gate.catalog(),
        meta: RequestMeta::of(req),
    };
    Ok(SignedIn {
        caller,
        session,
        key_id,
        csrf,
        user,
        account,
    })
}

fn ticket_error(error: SignInError) -> WebError {
    WebError::Refused(match error {
        SignInError::Expired => {
            "This sign-in link has expired. Ask for a new one (tollgate login-url).".into()
        }
        _ => "This sign-in link is not valid. Ask for a new one (tollgate login-url).".into(),
    })
}

fn field(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.clone())
}

fn query_param(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// `GET /sign-in?ticket=…`: who is about to sign in, and a Continue button (nothing is spent).
pub async fn sign_in_page(req: HttpRequest, state: web::Data<AppState>) -> Page {
    async {
        let ticket = query_param(req.query_string(), "ticket").unwrap_or_default();
        let (checked, _) = state
            .keys
            .verify_ticket(&ticket, OffsetDateTime::now_utc())
            .map_err(ticket_error)?;
        let (user, account) = load_user(&state, checked.user, None)
            .await?
            .unwrap_or_default();
        let (user, account) = admit(user, account).map_err(WebError::Refused)?;
        Ok(html(
            StatusCode::OK,
            views::sign_in_page(&ticket, &user, &account),
        ))
    }
    .await
    .into()
}

/// False when the browser says the request came from another site (`Sec-Fetch-Site`, or an
/// `Origin` other than this host): a sign-in posted from elsewhere would sign the victim in as
/// someone else ("login CSRF"). Clients that send neither header are let through; the ticket is
/// the credential.
fn same_site(req: &HttpRequest) -> bool {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site")
        && !matches!(site, "same-origin" | "none")
    {
        return false;
    }
    match header("origin") {
        // `null` says nothing (privacy-sensitive contexts send it); `Sec-Fetch-Site` decided.
        None | Some("null") => true,
        Some(origin) => {
            let host = req.connection_info().host().to_owned();
            origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"))
                .is_some_and(|origin_host| origin_host.eq_ignore_ascii_case(&host))
        }
    }
}

/// `POST /sign-in`: spends the ticket and starts the session.
pub async fn sign_in(req: HttpRequest, payload: web::Payload, state: web::Data<AppState>) -> Page {
    async {
        if !same_site(&req) {
            return Err(WebError::Refused(
                "This sign-in did not come from Tollgate's own page. Open the sign-in link \
                 itself."
                    .into(),
            ));
        }
        let ticket = field(&read_pairs(&req, payload).await?, "ticket").unwrap_or_default();
        let now = OffsetDateTime::now_utc();
        let (checked, _) = state
            .keys
            .verify_ticket(&ticket, now)
            .map_err(ticket_error)?;
        let (user, account) = load_user(&state, checked.user, None)
            .await?
            .unwrap_or_default();
        let (user, _) = admit(user, account).map_err(WebError::Refused)?;
        let store = state.store.clone();
        let nonce = checked.nonce.clone();
        let fresh = web::block(move || {
            store.remember_nonce(NonceKind::Ticket, &nonce, checked.expires, now)
        })
        .await??;
        if !fresh {
            return Err(WebError::Refused(
                "This sign-in link has already been used. Ask for a new one (tollgate login-url)."
                    .into(),
            ));
        }
        let current = state.keys.current();
        let cookie = Session::issue(&current.session, user.id, now, SESSION_LIFETIME, &mut OsRng);
        let session = Session::verify(&current.session, &cookie, now)
            .map_err(|error| WebError::Api(crate::error::ApiError::Internal(error.to_string())))?;
        let store = state.store.clone();
        let key_id = current.id();
        web::block(move || store.session_started(&session.id, key_id, session.expires, now))
            .await??;
        log::info!("{} signed in", user.id);
        let mut response = HttpResponse::SeeOther()
            .insert_header((header::LOCATION, TOKENS_PATH))
            .insert_header((
                header::SET_COOKIE,
                format!(
                    "{COOKIE}={cookie}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={}",
                    SESSION_LIFETIME.whole_seconds()
                ),
            ))
            .finish();
        secure_headers(&mut response);
        Ok(response)
    }
    .await
    .into()
}

/// `POST /sign-out`: ends the session (CSRF-checked) and clears the cookie.
pub async fn sign_out(req: HttpRequest, payload: web::Payload, state: web::Data<AppState>) -> Page {
    async {
        let signed = signed_in(&req, &state).await?;
        let csrf = field(&read_pairs(&req, payload).await?, "csrf");
        signed.check_csrf(&state, csrf.as_deref())?;
        let store = state.store.clone();
        let session = signed.session.clone();
        web::block(move || {
            store.remember_nonce(
                NonceKind::Session,
                &session.id,
                session.expires,
                OffsetDateTime::now_utc(),
            )
        })
        .await??;
        let mut response = html(
            StatusCode::OK,
            views::message_page(
                "Signed out",
                "You have signed out. Use a new sign-in link to come back.",
                true,
            ),
        );
        if let Ok(value) = header::HeaderValue::from_str(&format!(
            "{COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0"
        )) {
            response.headers_mut().insert(header::SET_COOKIE, value);
        }
        Ok(response)
    }
    .await
    .into()
}

#[cfg(test)]
mod tests {
    use tollgate_domain::{AccountId, AccountType, DisplayName, ModuleSet};

    use super::*;

    fn account(status: AccountStatus) -> Account {
        Account {
            id: AccountId::from_number(12_345_678).unwrap_or_else(|| unreachable!()),
            name: DisplayName::parse("name", "Acme").unwrap_or_else(|_| unreachable!()),
            account_type: AccountType::Client,
            status,
            modules: ModuleSet::new(),
            token_policy: Default::default(),
        }
    }

    fn user(admin: bool) -> User {
        User {
            id: UserId::from_number(11_112_222).unwrap_or_else(|| unreachable!()),
            account_id: AccountId::from_number(12_345_678).unwrap_or_else(|| unreachable!()),
            name: DisplayName::parse("name", "Jane Doe").unwrap_or_else(|_| unreachable!()),
            admin,
        }
    }

    #[test]
    fn only_administrators_of_active_accounts_are_admitted() {
        assert!(admit(Some(user(true)), Some(account(AccountStatus::Active))).is_ok());
        let refused = admit(Some(user(false)), Some(account(AccountStatus::Active)));
        assert!(refused.is_err_and(|m| m.contains("Only account administrators")));
        let refused = admit(Some(user(true)), Some(account(AccountStatus::Disabled)));
        assert!(refused.is_err_and(|m| m.contains("is disabled")));
        assert!(admit(None, None).is_err());
    }
}

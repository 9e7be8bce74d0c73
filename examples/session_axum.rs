//! palisade-session in an axum app: sign-in sets a `__Host-` cookie, `SessionLayer` guards the
//! private routes, sign-out and "sign out other devices" revoke sessions.
//!
//! ```sh
//! cargo run --example session_axum            # drives the app in-process and prints each exchange
//! cargo run --example session_axum -- --serve # serves it on 127.0.0.1:3000 (curl or a browser)
//! ```
//!
//! Routes: `POST /login?user=alice` (a stand-in for real authentication), `GET /me`,
//! `GET /sessions`, `POST /sessions/others/revoke`, `POST /logout`. Rejections are `401` with the
//! reason in `x-session-rejected`; a real app would redirect to its login page.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Extension, Query, State};
use axum::http::{HeaderMap, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use palisade::core::{SystemClock, TenantId};
use palisade::session::tower::{CurrentToken, REASON_HEADER};
use palisade::session::{
    AuthMethod, ClientInfo, CookieConfig, MemoryStore, NewSession, Policies, Session, SessionLayer,
    SessionManager, SessionPolicy, SessionToken,
};
use time::Duration;
use tower::ServiceExt;

#[derive(Clone)]
struct AppState {
    sessions: SessionManager,
    cookie: Arc<CookieConfig>,
    tenant: TenantId,
}

async fn login(
    State(app): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    // Stand-in for real authentication (password + TOTP, SAML, ...).
    let Some(user) = q.get("user").and_then(|u| u.parse().ok()) else {
        return (StatusCode::BAD_REQUEST, "give ?user=<id>").into_response();
    };
    let mut new = NewSession::new(app.tenant.clone(), user, AuthMethod::Password);
    let agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok());
    new.client = ClientInfo::new(None, agent);
    // Session fixation defence: whatever token the browser had before is revoked.
    new.replaces = app.cookie.token_from(&headers);
    match app.sessions.login(new).await {
        Ok(issued) => {
            ([(header::SET_COOKIE, app.cookie.set_cookie(&issued.token))], "signed in\n").into_response()
        }
        Err(e) => (StatusCode::FORBIDDEN, format!("{e}\n")).into_response(),
    }
}

async fn me(Extension(session): Extension<Session>) -> String {
    format!(
        "{} in {}, signed in at {}, idle deadline {}\n",
        session.user(),
        session.tenant(),
        session.created_at(),
        session.idle_deadline()
    )
}

async fn list(State(app): State<AppState>, Extension(session): Extension<Session>) -> Response {
    match app.sessions.list_active(session.tenant(), session.user()).await {
        Ok(list) => list
            .iter()
            .map(|s| {
                let this = if s.id() == session.id() { " (this device)" } else { "" };
                format!(
                    "{}{this}: created {}, last seen {}, agent {}\n",
                    s.id(),
                    s.created_at(),
                    s.last_seen_at(),
                    s.client().user_agent.as_deref().unwrap_or("?")
                )
            })
            .collect::<String>()
            .into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    }
}

async fn revoke_others(State(app): State<AppState>, Extension(session): Extension<Session>) -> Response {
    match app.sessions.revoke_other_sessions(&session).await {
        Ok(n) => format!("signed out {n} other session(s)\n").into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    }
}

async fn logout(
    State(app): State<AppState>,
    Extension(CurrentToken(token)): Extension<CurrentToken>,
) -> Response {
    let _ = app.sessions.logout(&token).await;
    ([(header::SET_COOKIE, app.cookie.clear_cookie())], "signed out\n").into_response()
}

fn app(state: AppState) -> anyhow::Result<Router> {
    let guard = SessionLayer::new(state.sessions.clone(), (*state.cookie).clone())?;
    let private = Router::new()
        .route("/me", get(me))
        .route("/sessions", get(list))
        .route("/sessions/others/revoke", post(revoke_others))
        .route("/logout", post(logout))
        .layer(guard);
    Ok(Router::new().route("/login", post(login)).merge(private).with_state(state))
}

async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    cookie: Option<&str>,
) -> anyhow::Result<(StatusCode, HeaderMap, String)> {
    let mut req = Request::builder().method(method).uri(uri).header(header::USER_AGENT, "example-agent/1.0");
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    let res = app.clone().oneshot(req.body(Body::empty())?).await?;
    let (parts, body) = res.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024).await?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let reason = parts.headers.get(REASON_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
    println!("{method} {uri} -> {} {reason}\n    {}", parts.status, text.trim_end().replace('\n', "\n    "));
    Ok((parts.status, parts.headers, text))
}

fn cookie_pair(headers: &HeaderMap) -> Option<String> {
    let set = headers.get(header::SET_COOKIE)?.to_str().ok()?;
    set.split(';').next().map(str::to_owned)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let policies =
        Policies::new(SessionPolicy { idle_timeout: Duration::hours(8), ..SessionPolicy::default() });
    let state = AppState {
        sessions: SessionManager::new(
            Arc::new(MemoryStore::new()),
            Arc::new(policies),
            Arc::new(SystemClock),
        ),
        cookie: Arc::new(CookieConfig::default()),
        tenant: "acme".parse()?,
    };
    let router = app(state)?;

    if std::env::args().any(|a| a == "--serve") {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
        println!("listening on http://127.0.0.1:3000 (browsers accept __Host- cookies on localhost)");
        axum::serve(listener, router).await?;
        return Ok(());
    }

    call(&router, "GET", "/me", None).await?;
    let (_, headers, _) = call(&router, "POST", "/login?user=alice", None).await?;
    let laptop = cookie_pair(&headers).ok_or_else(|| anyhow::anyhow!("no cookie set"))?;
    println!(
        "    Set-Cookie: {}",
        headers
            .get(header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .replace(laptop.split('=').nth(1).unwrap_or(""), "<token>")
    );
    let (_, headers, _) = call(&router, "POST", "/login?user=alice", None).await?;
    let phone = cookie_pair(&headers).ok_or_else(|| anyhow::anyhow!("no cookie set"))?;
    call(&router, "GET", "/me", Some(&laptop)).await?;
    call(&router, "GET", "/sessions", Some(&laptop)).await?;
    call(&router, "POST", "/sessions/others/revoke", Some(&laptop)).await?;
    call(&router, "GET", "/me", Some(&phone)).await?;
    call(&router, "POST", "/logout", Some(&laptop)).await?;
    let (status, _, _) = call(&router, "GET", "/me", Some(&laptop)).await?;
    anyhow::ensure!(status == StatusCode::UNAUTHORIZED, "a signed-out session was accepted");
    let forged = format!("__Host-session={}", SessionToken::generate()?.expose_secret());
    call(&router, "GET", "/me", Some(&forged)).await?;
    Ok(())
}

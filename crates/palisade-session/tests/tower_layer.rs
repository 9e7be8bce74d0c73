#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
//! `SessionLayer` in front of a service: cookies, extensions, 401 reasons, cleared cookies.
#![cfg(feature = "tower")]

use std::convert::Infallible;
use std::sync::Arc;

use ::tower::{Layer, Service, ServiceExt, service_fn};
use http::header::{COOKIE, SET_COOKIE};
use http::{Request, Response, StatusCode};
use palisade_core::{ManualClock, TenantId};
use palisade_session::tower::{CurrentToken, REASON_HEADER, SameSite};
use palisade_session::*;
use time::{Duration, macros::datetime};

struct Fixture {
    clock: ManualClock,
    manager: SessionManager,
    acme: TenantId,
}

fn fixture() -> Fixture {
    let clock = ManualClock::new(datetime!(2026-03-02 09:00 UTC));
    let policies =
        Policies::new(SessionPolicy { idle_timeout: Duration::hours(1), ..SessionPolicy::default() });
    let manager =
        SessionManager::new(Arc::new(MemoryStore::new()), Arc::new(policies), Arc::new(clock.clone()));
    Fixture { clock, manager, acme: "acme".parse().unwrap() }
}

type App = ::tower::util::BoxCloneService<Request<String>, Response<String>, Infallible>;

fn app(layer: SessionLayer) -> App {
    let inner = service_fn(|req: Request<String>| async move {
        let who = match req.extensions().get::<Session>() {
            Some(s) => {
                assert!(req.extensions().get::<CurrentToken>().is_some());
                format!("{}@{}", s.user(), s.tenant())
            }
            None => "anonymous".to_owned(),
        };
        Ok::<_, Infallible>(Response::new(who))
    });
    ::tower::util::BoxCloneService::new(layer.layer(inner))
}

fn get(cookie: Option<&str>, host: &str) -> Request<String> {
    let mut b = Request::builder().uri("/x").header("host", host);
    if let Some(c) = cookie {
        b = b.header(COOKIE, c);
    }
    b.body(String::new()).unwrap()
}

fn cookie_of(token: &SessionToken) -> String {
    format!("theme=dark; __Host-session={}; other=1", token.expose_secret())
}

async fn send(app: &App, req: Request<String>) -> Response<String> {
    app.clone().oneshot(req).await.unwrap()
}

fn reason(res: &Response<String>) -> &str {
    res.headers().get(REASON_HEADER).map(|v| v.to_str().unwrap()).unwrap_or("")
}

fn clears_cookie(res: &Response<String>) -> bool {
    res.headers().get_all(SET_COOKIE).iter().any(|v| {
        let v = v.to_str().unwrap();
        v.starts_with("__Host-session=;") && v.contains("Max-Age=0")
    })
}

#[tokio::test]
async fn valid_cookie_reaches_the_handler_with_the_session() {
    let f = fixture();
    let app = app(SessionLayer::new(f.manager.clone(), CookieConfig::default()).unwrap());
    let issued = f
        .manager
        .login(NewSession::new(f.acme.clone(), "alice".parse().unwrap(), AuthMethod::Password))
        .await
        .unwrap();
    let res = send(&app, get(Some(&cookie_of(&issued.token)), "acme.example")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.body(), "alice@acme");
    assert!(res.headers().get(SET_COOKIE).is_none());
}

#[tokio::test]
async fn rejections_are_401_with_reason_and_cleared_cookie() {
    let f = fixture();
    let app = app(SessionLayer::new(f.manager.clone(), CookieConfig::default()).unwrap());
    let res = send(&app, get(None, "acme.example")).await;
    assert_eq!((res.status(), reason(&res)), (StatusCode::UNAUTHORIZED, "missing"));
    assert!(!clears_cookie(&res));

    let res = send(&app, get(Some("__Host-session=forged"), "acme.example")).await;
    assert_eq!((res.status(), reason(&res)), (StatusCode::UNAUTHORIZED, "unknown"));
    assert!(clears_cookie(&res));

    let issued = f
        .manager
        .login(NewSession::new(f.acme.clone(), "alice".parse().unwrap(), AuthMethod::Password))
        .await
        .unwrap();
    f.clock.advance(Duration::minutes(61));
    let res = send(&app, get(Some(&cookie_of(&issued.token)), "acme.example")).await;
    assert_eq!((res.status(), reason(&res)), (StatusCode::UNAUTHORIZED, "idle-expired"));
    assert!(clears_cookie(&res));

    let issued = f
        .manager
        .login(NewSession::new(f.acme.clone(), "alice".parse().unwrap(), AuthMethod::Password))
        .await
        .unwrap();
    f.manager
        .revoke_user(&f.acme, &"alice".parse().unwrap(), RevocationReason::PasswordChanged)
        .await
        .unwrap();
    let res = send(&app, get(Some(&cookie_of(&issued.token)), "acme.example")).await;
    assert_eq!((res.status(), reason(&res)), (StatusCode::UNAUTHORIZED, "revoked"));
}

#[tokio::test]
async fn tenant_resolved_from_the_request() {
    let f = fixture();
    let layer = SessionLayer::new(f.manager.clone(), CookieConfig::default()).unwrap().tenant_from(|parts| {
        let host = parts.headers.get("host")?.to_str().ok()?;
        host.split('.').next()?.parse().ok()
    });
    let app = app(layer);
    let issued = f
        .manager
        .login(NewSession::new(f.acme.clone(), "alice".parse().unwrap(), AuthMethod::Password))
        .await
        .unwrap();
    assert_eq!(
        send(&app, get(Some(&cookie_of(&issued.token)), "acme.example")).await.status(),
        StatusCode::OK
    );
    let res = send(&app, get(Some(&cookie_of(&issued.token)), "globex.example")).await;
    assert_eq!((res.status(), reason(&res)), (StatusCode::UNAUTHORIZED, "tenant-mismatch"));
}

#[tokio::test]
async fn optional_mode_lets_anonymous_requests_through() {
    let f = fixture();
    let app = app(SessionLayer::new(f.manager.clone(), CookieConfig::default()).unwrap().optional());
    let res = send(&app, get(None, "acme.example")).await;
    assert_eq!((res.status(), res.body().as_str()), (StatusCode::OK, "anonymous"));
    let res = send(&app, get(Some("__Host-session=stale"), "acme.example")).await;
    assert_eq!((res.status(), res.body().as_str()), (StatusCode::OK, "anonymous"));
    assert!(clears_cookie(&res), "a rejected cookie is cleared even in optional mode");
}

#[tokio::test]
async fn validation_through_the_layer_slides_the_idle_deadline() {
    let f = fixture();
    let mut svc = app(SessionLayer::new(f.manager.clone(), CookieConfig::default()).unwrap());
    let issued = f
        .manager
        .login(NewSession::new(f.acme.clone(), "alice".parse().unwrap(), AuthMethod::Password))
        .await
        .unwrap();
    for _ in 0..4 {
        f.clock.advance(Duration::minutes(45));
        let res = svc
            .ready()
            .await
            .unwrap()
            .call(get(Some(&cookie_of(&issued.token)), "acme.example"))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
}

#[test]
fn cookie_attributes_and_config_validation() {
    let c = CookieConfig::default();
    let token = SessionToken::generate().unwrap();
    let set = c.set_cookie(&token);
    assert_eq!(
        set.to_str().unwrap(),
        format!("__Host-session={}; Path=/; Secure; HttpOnly; SameSite=Lax", token.expose_secret())
    );
    let persistent = CookieConfig { max_age: Some(Duration::days(7)), ..CookieConfig::default() };
    assert!(persistent.set_cookie(&token).to_str().unwrap().contains("; Max-Age=604800;"));

    let bad = CookieConfig {
        name: "__Host-s".into(),
        secure: false,
        same_site: SameSite::None,
        path: "x".into(),
        ..CookieConfig::default()
    };
    let Err(Error::InvalidConfig(problems)) = bad.validate() else { panic!("accepted") };
    assert_eq!(problems.iter().map(|p| p.field).collect::<Vec<_>>(), ["name", "same_site", "path"]);
    assert!(CookieConfig { name: "a b".into(), ..CookieConfig::default() }.validate().is_err());
    let from_toml: CookieConfig =
        toml::from_str("name = \"sid\"\nsame_site = \"Strict\"\nmax_age = \"8h\"").unwrap();
    assert_eq!(from_toml.max_age, Some(Duration::hours(8)));
    from_toml.validate().unwrap();
    assert!(toml::from_str::<CookieConfig>("nme = \"sid\"").is_err());
}

#[test]
fn token_is_read_from_any_cookie_header() {
    let c = CookieConfig::default();
    let mut headers = http::HeaderMap::new();
    headers.append(COOKIE, "a=1".parse().unwrap());
    headers.append(COOKIE, "b=2; __Host-session=\"abc\"".parse().unwrap());
    assert_eq!(c.token_from(&headers).unwrap().expose_secret(), "abc");
    let mut none = http::HeaderMap::new();
    none.append(COOKIE, "__Host-sessionx=1; x__Host-session=2".parse().unwrap());
    assert!(c.token_from(&none).is_none());
}

//! The HTTP client behind every network call, as a trait, so hosts bring their own (proxy,
//! tracing, mTLS) and tests can script one. [`ReqwestHttpClient`] (feature `reqwest`) is the
//! provided implementation: rustls, no redirects followed, bounded time and response size.

use std::fmt;

use async_trait::async_trait;
use url::Url;

/// The largest response body read, in bytes.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// An HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET.
    Get,
    /// POST.
    Post,
}

/// A request. Its `Debug` omits headers and body: they carry credentials.
#[derive(Clone)]
pub struct HttpRequest {
    /// The method.
    pub method: Method,
    /// The URL.
    pub url: Url,
    /// Headers (name, value).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &self.url.as_str())
            .finish_non_exhaustive()
    }
}

impl HttpRequest {
    /// A GET of `url` accepting JSON.
    pub fn get(url: Url) -> Self {
        HttpRequest {
            method: Method::Get,
            url,
            headers: vec![("accept".into(), "application/json".into())],
            body: Vec::new(),
        }
    }

    /// A POST of a form to `url`, accepting JSON.
    pub fn post_form(url: Url, form: &[(&str, &str)]) -> Self {
        let body =
            url::form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish().into_bytes();
        HttpRequest {
            method: Method::Post,
            url,
            headers: vec![
                ("accept".into(), "application/json".into()),
                ("content-type".into(), "application/x-www-form-urlencoded".into()),
            ],
            body,
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }
}

/// A response.
#[derive(Clone)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Headers (lower-case name, value).
    pub headers: Vec<(String, String)>,
    /// The body (at most [`MAX_RESPONSE_BYTES`]).
    pub body: Vec<u8>,
}

impl fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl HttpResponse {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A transport failure (no HTTP response): connection refused, timeout, TLS, oversized body.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct HttpError(pub String);

/// Sends HTTP requests.
#[async_trait]
pub trait HttpClient: Send + Sync + fmt::Debug {
    /// Sends `request`; returns any HTTP response (including 4xx/5xx), or a transport error.
    /// Implementations must not follow redirects.
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError>;
}

#[cfg(feature = "reqwest")]
pub use reqwest_client::ReqwestHttpClient;

#[cfg(feature = "reqwest")]
mod reqwest_client {
    use std::time::Duration;

    use async_trait::async_trait;

    use super::{HttpClient, HttpError, HttpRequest, HttpResponse, MAX_RESPONSE_BYTES, Method};

    /// [`HttpClient`] over reqwest with rustls: no redirects, 10 s timeout, 1 MiB bodies.
    #[derive(Debug, Clone)]
    pub struct ReqwestHttpClient {
        client: reqwest::Client,
    }

    impl ReqwestHttpClient {
        /// A client with the secure defaults.
        pub fn new() -> Result<Self, HttpError> {
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(10))
                .connect_timeout(Duration::from_secs(5))
                .user_agent(concat!("palisade-oauth/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| HttpError(format!("cannot build the HTTP client: {e}")))?;
            Ok(ReqwestHttpClient { client })
        }

        /// Wraps a client the host configured (it should not follow redirects).
        pub fn from_client(client: reqwest::Client) -> Self {
            ReqwestHttpClient { client }
        }
    }

    #[async_trait]
    impl HttpClient for ReqwestHttpClient {
        async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
            let method = match request.method {
                Method::Get => reqwest::Method::GET,
                Method::Post => reqwest::Method::POST,
            };
            let mut rb = self.client.request(method, request.url.as_str());
            for (k, v) in &request.headers {
                rb = rb.header(k.as_str(), v.as_str());
            }
            if request.method == Method::Post {
                rb = rb.body(request.body);
            }
            let mut resp = rb.send().await.map_err(|e| HttpError(format!("request failed: {e}")))?;
            let status = resp.status().as_u16();
            let headers = resp
                .headers()
                .iter()
                .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_owned(), v.to_owned())))
                .collect();
            let mut body = Vec::new();
            while let Some(chunk) =
                resp.chunk().await.map_err(|e| HttpError(format!("reading the body failed: {e}")))?
            {
                if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                    return Err(HttpError(format!("response body exceeds {MAX_RESPONSE_BYTES} bytes")));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(HttpResponse { status, headers, body })
        }
    }
}

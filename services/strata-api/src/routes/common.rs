//! Pieces every resource module shares: paging parameters, timestamps, evaluation metrics, and
//! the JSON body extractor whose rejections are problem+json.

use axum::extract::{FromRequest, FromRequestParts};
use serde::{Deserialize, Serialize};
use strata_proto::strata::ml::v1 as pb;
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;

/// JSON body extractor whose rejections are problem+json 400s.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// Query extractor whose rejections are problem+json 400s.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// Page through a listing.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// At most this many results, 1-500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub page_size: Option<u32>,
    /// `next_page_token` of the previous page, as it was returned (a token from elsewhere is a
    /// 400).
    pub page_token: Option<String>,
}

/// An optional JSON number. The request bodies take [`Sampling`] flattened, which buffers their
/// fields first; when a crate in the same build turns on serde_json's `arbitrary_precision`
/// (starlark, in `cargo build --workspace`), a buffered number arrives as a map that a plain
/// float refuses ("invalid type: map"), while `serde_json::Number` reads it. f64, so the bounds
/// are checked on the value sent, not on its f32 rounding.
pub fn number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let n: Option<serde_json::Number> = Deserialize::deserialize(d)?;
    n.map(|n| {
        n.as_f64()
            .ok_or_else(|| serde::de::Error::custom(format!("{n} is not a number")))
    })
    .transpose()
}

/// An optional JSON integer as JSON Schema counts them: `5` and `5.0` alike (property-based
/// testers and some clients send the latter). A fraction, a negative number or one beyond `T` is
/// refused. Read through `serde_json::Number` for the reason [`number`] gives.
pub fn whole<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<u64>,
{
    use serde::de::Error;
    let n: Option<serde_json::Number> = Deserialize::deserialize(d)?;
    n.map(|n| {
        let value = n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && (0.0..=u64::MAX as f64).contains(f))
                .map(|f| f as u64)
        });
        let value = value
            .ok_or_else(|| D::Error::custom(format!("{n} is not a whole number of at least 0")))?;
        T::try_from(value).map_err(|_| D::Error::custom(format!("{n} is too large")))
    })
    .transpose()
}

/// Largest `page_size` of a listing.
pub const MAX_PAGE_SIZE: u32 = 500;

impl PageParams {
    /// The page size for the ML service (0 = its default), refusing values outside 1-500.
    pub fn size(&self) -> Result<u32, ApiError> {
        page_size(self.page_size)
    }
}

/// Checks an optional `page_size` against 1-500; 0 means the ML service's default.
pub fn page_size(size: Option<u32>) -> Result<u32, ApiError> {
    match size {
        None => Ok(0),
        Some(n @ 1..=MAX_PAGE_SIZE) => Ok(n),
        Some(n) => Err(ApiError::BadRequest(format!(
            "page_size must be 1-{MAX_PAGE_SIZE}, got {n}"
        ))),
    }
}

/// `{id}:action` paths (`:cancel`, `:predict`) share an axum route with `{id}`, since routes
/// cannot end a parameter with a suffix; which methods a path has follows from its last segment.
pub fn allowed_methods(segment: &str, action: &str) -> &'static str {
    if segment.ends_with(action) {
        "POST"
    } else {
        "GET,HEAD"
    }
}

/// The 405 for a method a custom-method path does not have.
pub fn method_not_allowed(method: &str, segment: &str, action: &str) -> ApiError {
    let allow = allowed_methods(segment, action);
    let hint = if allow == "POST" {
        String::new()
    } else {
        format!("; the action is POST {segment}{action}")
    };
    ApiError::MethodNotAllowed {
        allow,
        detail: format!("{method} is not allowed here (allowed: {allow}){hint}"),
    }
}

/// Answers `OPTIONS` on a custom-method path with the methods that path really has.
pub fn options_for(segment: &str, action: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        axum::http::StatusCode::NO_CONTENT,
        [(
            axum::http::header::ALLOW,
            format!("{},OPTIONS", allowed_methods(segment, action)),
        )],
    )
        .into_response()
}

/// The gRPC "empty means last page" token as an optional JSON field.
pub fn next_page(token: String) -> Option<String> {
    Some(token).filter(|t| !t.is_empty())
}

/// RFC 3339 text of a protobuf timestamp; `None` when unset.
pub fn timestamp(ts: Option<prost_types::Timestamp>) -> Option<String> {
    let ts = ts?;
    let nanos = u32::try_from(ts.nanos).ok()?;
    chrono::DateTime::from_timestamp(ts.seconds, nanos)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

/// Evaluation results of a model on a data split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Metrics {
    pub loss: f64,
    pub accuracy: f64,
    pub macro_f1: f64,
    /// Rows are the true class, columns the predicted class.
    pub confusion_matrix: Vec<Vec<u64>>,
}

impl Metrics {
    pub fn from_pb(m: Option<pb::Metrics>) -> Option<Self> {
        let m = m?;
        let n = m.num_classes as usize;
        let confusion_matrix = if n == 0 {
            Vec::new()
        } else {
            m.confusion_matrix.chunks(n).map(<[u64]>::to_vec).collect()
        };
        Some(Self {
            loss: m.loss,
            accuracy: m.accuracy,
            macro_f1: m.macro_f1,
            confusion_matrix,
        })
    }
}

impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::QueryRejection) -> Self {
        ApiError::BadRequest(rejection.body_text())
    }
}

//! Posted forms, read with limits: text fields up to 64 KB, a logo up to 5 MB (checked by
//! content), the whole form within the server's body timeout; and their fields by name.

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{HttpRequest, web};
use futures_util::StreamExt as _;

use super::WebError;
use super::views::Errors;
use crate::body::{ICON_LIMIT, read_body, within_body_timeout};
use crate::error::ApiError;
use tollgate_domain::icon::sniff;

/// The most a text field of a form (or a whole form without a logo) may hold.
pub const TEXT_LIMIT: usize = 64 * 1024;

/// A query string or urlencoded body as its pairs, in order.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect()
}

/// The first value of the field `name`.
pub fn first<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// Every value of the field `name`, in order.
pub fn all(pairs: &[(String, String)], name: &str) -> Vec<String> {
    pairs
        .iter()
        .filter(|(key, _)| key == name)
        .map(|(_, value)| value.clone())
        .collect()
}

/// The most a whole form may carry: a logo of up to 5 MB and 1 MB of everything else. Past it
/// the request is refused (413) rather than read on.
const FORM_LIMIT: usize = ICON_LIMIT + 1024 * 1024;

/// A form, read with limits: text fields up to 64 KB, the logo up to 5 MB (a larger logo is
/// reported next to its field), the whole form up to [`FORM_LIMIT`].
#[derive(Debug, Default)]
pub struct FormInput {
    /// The text fields, in order.
    pub fields: Vec<(String, String)>,
    logo: Option<Vec<u8>>,
    logo_too_large: bool,
}

async fn read_multipart(req: &HttpRequest, payload: web::Payload) -> Result<FormInput, WebError> {
    let mut multipart = Multipart::new(req.headers(), payload);
    let mut input = FormInput::default();
    let bad = |what: String| WebError::Api(ApiError::BadRequest(what));
    let mut total = 0usize;
    while let Some(field) = multipart.next().await {
        let mut field = field.map_err(|e| bad(format!("the form could not be read: {e}")))?;
        let name = field.name().unwrap_or_default().to_owned();
        let is_file = name == "logo";
        let limit = if is_file { ICON_LIMIT } else { TEXT_LIMIT };
        let mut bytes = Vec::new();
        let mut too_large = false;
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|e| bad(format!("the form could not be read: {e}")))?;
            total += chunk.len();
            if total > FORM_LIMIT {
                return Err(WebError::Api(ApiError::PayloadTooLarge(FORM_LIMIT)));
            }
            if bytes.len() + chunk.len() > limit {
                too_large = true;
                if !is_file {
                    return Err(WebError::Api(ApiError::PayloadTooLarge(TEXT_LIMIT)));
                }
                // Keep reading (and dropping) so the error can be shown next to the field.
                continue;
            }
            bytes.extend_from_slice(&chunk);
        }
        if is_file {
            input.logo_too_large |= too_large;
            if !bytes.is_empty() && !too_large {
                input.logo = Some(bytes);
            }
        } else {
            let text = String::from_utf8(bytes)
                .map_err(|_| bad(format!("the field {name} is not UTF-8 text")))?;
            input.fields.push((name, text));
        }
    }
    Ok(input)
}

/// The uploaded logo, checked by content (PNG or JPEG, at most 5 MB); problems go to `logo`.
pub fn checked_logo(input: &FormInput, errors: &mut Errors) -> Option<(&'static str, Vec<u8>)> {
    if input.logo_too_large {
        errors.insert("logo".into(), vec!["The logo must be 5 MB or less.".into()]);
        return None;
    }
    let bytes = input.logo.as_ref()?;
    match sniff(bytes) {
        Some(kind) => Some((kind, bytes.clone())),
        None => {
            errors.insert(
                "logo".into(),
                vec!["The logo must be a .jpg or .png image.".into()],
            );
            None
        }
    }
}

/// A form posted as `multipart/form-data` (with a logo) or `application/x-www-form-urlencoded`,
/// read within the server's body timeout (408 after it).
pub async fn read_form(req: &HttpRequest, payload: web::Payload) -> Result<FormInput, WebError> {
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("multipart/form-data"));
    if multipart {
        return within_body_timeout(req, read_multipart(req, payload)).await;
    }
    Ok(FormInput {
        fields: read_pairs(req, payload).await?,
        ..FormInput::default()
    })
}

/// An `application/x-www-form-urlencoded` body (at most [`TEXT_LIMIT`], within the body
/// timeout) as its pairs.
pub async fn read_pairs(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<Vec<(String, String)>, WebError> {
    let bytes = read_body(req, payload, TEXT_LIMIT).await?;
    Ok(query_pairs(&String::from_utf8_lossy(&bytes)))
}

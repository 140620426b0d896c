//! QR API, merchant callback QRs (BRIEF §3), and the QR images the simulator
//! serves itself (PNG and SVG, no auth, like `qrImageUrl` at Vipps).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header as h};
use axum::response::{IntoResponse, Response};
use qrcode::{Color, QrCode};
use serde_json::{Value, json};

use super::app::{App, random_slug};
use super::auth::{Msn, authorize};
use super::problem::{ApiError, Reply, Shape};
use super::state::{MerchantQr, QrKind};

/// QR errors use the QR API's own shape (except gateway answers).
fn qr_shape(mut e: ApiError) -> ApiError {
    if e.shape == Shape::Problem {
        e.shape = Shape::Qr;
    }
    e
}

fn invalid(name: &str, reason: impl Into<String>) -> ApiError {
    ApiError::qr(
        StatusCode::BAD_REQUEST,
        "One or more validation errors occurred.",
        "BadRequest",
    )
    .with_field(name, reason)
}

fn not_found(id: &str) -> ApiError {
    ApiError::qr(
        StatusCode::NOT_FOUND,
        "Not Found",
        format!("No merchant callback QR with id {id} exists for this merchant."),
    )
}

/// `merchantQrId` rules are undocumented; we borrow the merchant-redirect `id`
/// rule: 1..128 characters of `[-_+%æøåÆØÅ\w\s]`.
fn valid_qr_id(id: &str) -> bool {
    let n = id.chars().count();
    (1..=128).contains(&n)
        && id
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c.is_whitespace() || "-+%".contains(c))
}

/// Image options of GET: `qrImageFormat` (PNG|SVG, default SVG), `qrImageSize` (100..2000).
fn image_options(query: &HashMap<String, String>) -> Result<(&'static str, Option<u32>), ApiError> {
    let get = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let format = match get("qrImageFormat") {
        None => "svg",
        Some(f) if f.eq_ignore_ascii_case("SVG") => "svg",
        Some(f) if f.eq_ignore_ascii_case("PNG") => "png",
        Some(f) => {
            return Err(invalid(
                "QrImageFormat",
                format!("{f:?} is not PNG or SVG."),
            ));
        }
    };
    let size = match get("qrImageSize") {
        None => None,
        Some(s) => match s.parse::<u32>() {
            Ok(n) if (100..=2000).contains(&n) => Some(n),
            _ => return Err(invalid("QrImageSize", "QrImageSize must be 100 to 2000.")),
        },
    };
    Ok((format, size))
}

fn qr_json(app: &App, msn: &str, qr: &MerchantQr, format: &str, size: Option<u32>) -> Value {
    let mut image = format!("{}qr-images/{}.{format}", app.base_url, qr.slug);
    if format == "png" {
        image.push_str(&format!("?size={}", size.unwrap_or(800)));
    }
    json!({
        "merchantSerialNumber": msn,
        "merchantQrId": qr.merchant_qr_id,
        "locationDescription": qr.location_description,
        "qrImageUrl": image,
        "qrContent": qr.qr_content(),
    })
}

/// `PUT /qr/v1/merchant-callback/{merchantQrId}`: create or update.
pub async fn put(
    State(app): State<App>,
    uri: Uri,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Reply {
    put_inner(&app, &headers, &id, &body).unwrap_or_else(|e| qr_shape(e).reply(uri.path()))
}

/// The body of both PUTs: `locationDescription` (required, ≤ 36) and the optional `category`.
fn put_body(body: &Bytes) -> Result<(String, Option<String>), ApiError> {
    let request: Value = serde_json::from_slice(body)
        .map_err(|_| invalid("body", "The request body must be JSON."))?;
    let location = match request.get("locationDescription") {
        None | Some(Value::Null) => {
            return Err(invalid(
                "LocationDescription",
                "The LocationDescription field is required.",
            ));
        }
        Some(Value::String(s)) if s.chars().count() > 36 => {
            return Err(invalid(
                "LocationDescription",
                "The field LocationDescription must be a string with a maximum length of 36.",
            ));
        }
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            return Err(invalid(
                "LocationDescription",
                "LocationDescription must be a string.",
            ));
        }
    };
    let category = match request.get("category") {
        None | Some(Value::Null) => None,
        Some(Value::String(c)) if c == "IN_STORE" || c == "VENDING" => Some(c.clone()),
        Some(_) => return Err(invalid("Category", "Category must be IN_STORE or VENDING.")),
    };
    Ok((location, category))
}

fn put_inner(app: &App, headers: &HeaderMap, id: &str, body: &Bytes) -> Result<Reply, ApiError> {
    authorize(app, headers, Msn::Required)?;
    if !valid_qr_id(id) {
        return Err(invalid(
            "merchantQrId",
            "merchantQrId must be 1 to 128 letters, digits, spaces or -_+%.",
        ));
    }
    let (location, category) = put_body(body)?;
    upsert(app, id, location, category, QrKind::Vipps);
    Ok(Reply::empty(StatusCode::OK))
}

/// Creates the QR or updates its description (the code itself never changes).
fn upsert(app: &App, id: &str, location: String, category: Option<String>, kind: QrKind) {
    let mut state = app.state();
    let state = &mut *state;
    match state.qrs.get_mut(id) {
        Some(existing) => {
            existing.location_description = location;
            if category.is_some() {
                existing.category = category;
            }
        }
        None => {
            let qr = MerchantQr {
                merchant_qr_id: id.to_string(),
                location_description: location,
                category,
                slug: random_slug(18),
                kind,
            };
            state.qr_images.insert(qr.slug.clone(), qr.qr_content());
            state.qrs.insert(id.to_string(), qr);
        }
    }
}

/// `PUT /qr/v1/merchant-callback/mobilepay/{beaconId}`: maps a printed MobilePay PoS sticker
/// to this sales unit; its check-ins then carry the beacon id as `merchantQrId`. 409 when the
/// beacon is mapped to another merchant, or the id is one of this merchant's own Vipps QRs.
pub async fn put_beacon(
    State(app): State<App>,
    uri: Uri,
    headers: HeaderMap,
    Path(beacon_id): Path<String>,
    body: Bytes,
) -> Reply {
    put_beacon_inner(&app, &headers, &beacon_id, &body)
        .unwrap_or_else(|e| qr_shape(e).reply(uri.path()))
}

fn put_beacon_inner(
    app: &App,
    headers: &HeaderMap,
    beacon_id: &str,
    body: &Bytes,
) -> Result<Reply, ApiError> {
    authorize(app, headers, Msn::Required)?;
    if !valid_qr_id(beacon_id) {
        return Err(invalid(
            "beaconId",
            "beaconId must be 1 to 128 letters, digits, spaces or -_+%.",
        ));
    }
    let (location, category) = put_body(body)?;
    let elsewhere = app.config.foreign_beacons.iter().any(|b| b == beacon_id);
    let own_vipps_qr = app
        .state()
        .qrs
        .get(beacon_id)
        .is_some_and(|qr| qr.kind == QrKind::Vipps);
    if elsewhere || own_vipps_qr {
        tracing::info!(beacon_id, elsewhere, "beacon mapping refused: conflict");
        return Ok(Reply::json(
            StatusCode::CONFLICT,
            &json!({ "id": beacon_id }),
        ));
    }
    upsert(app, beacon_id, location, category, QrKind::MobilePayBeacon);
    tracing::info!(beacon_id, "MobilePay beacon mapped");
    Ok(Reply::empty(StatusCode::OK))
}

/// `GET /qr/v1/merchant-callback/{merchantQrId}`.
pub async fn get(
    State(app): State<App>,
    uri: Uri,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Reply {
    let result = (|| {
        let msn = authorize(&app, &headers, Msn::Required)?;
        let (format, size) = image_options(&query)?;
        let state = app.state();
        let qr = state.qrs.get(&id).ok_or_else(|| not_found(&id))?;
        Ok(Reply::json(
            StatusCode::OK,
            &qr_json(&app, &msn, qr, format, size),
        ))
    })();
    result.unwrap_or_else(|e: ApiError| qr_shape(e).reply(uri.path()))
}

/// `GET /qr/v1/merchant-callback`: every QR of the MSN.
pub async fn list(
    State(app): State<App>,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Reply {
    let result = (|| {
        let msn = authorize(&app, &headers, Msn::Required)?;
        let (format, size) = image_options(&query)?;
        let state = app.state();
        let all: Vec<Value> = state
            .qrs
            .values()
            .map(|qr| qr_json(&app, &msn, qr, format, size))
            .collect();
        Ok(Reply::json(StatusCode::OK, &Value::Array(all)))
    })();
    result.unwrap_or_else(|e: ApiError| qr_shape(e).reply(uri.path()))
}

/// `DELETE /qr/v1/merchant-callback/{merchantQrId}`: permanent; the code stops working.
pub async fn delete(
    State(app): State<App>,
    uri: Uri,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Reply {
    let result = (|| {
        authorize(&app, &headers, Msn::Required)?;
        let mut state = app.state();
        let qr = state.qrs.remove(&id).ok_or_else(|| not_found(&id))?;
        state.qr_images.remove(&qr.slug);
        Ok(Reply::empty(StatusCode::OK))
    })();
    result.unwrap_or_else(|e: ApiError| qr_shape(e).reply(uri.path()))
}

/// `GET /qr-images/{slug}.{png|svg}?size=N`: the image behind a `qrImageUrl`.
pub async fn image(
    State(app): State<App>,
    Path(file): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some((slug, ext)) = file.rsplit_once('.') else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Some(content) = app.state().qr_images.get(slug).cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let size = query
        .get("size")
        .and_then(|s| s.parse::<u32>().ok())
        .unwrap_or(800)
        .clamp(100, 2000);
    let rendered = match ext {
        "png" => render_png(&content, size).map(|b| (b, "image/png")),
        "svg" => render_svg(&content).map(|s| (s.into_bytes(), "image/svg+xml")),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    match rendered {
        Some((bytes, ct)) => {
            let mut response = bytes.into_response();
            response
                .headers_mut()
                .insert(h::CONTENT_TYPE, HeaderValue::from_static(ct));
            response
        }
        None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// An SVG of the QR code for `content`.
pub fn render_svg(content: &str) -> Option<String> {
    let code = QrCode::new(content.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color>()
            .min_dimensions(256, 256)
            .quiet_zone(true)
            .build(),
    )
}

/// A `size`×`size` greyscale PNG of the QR code for `content`, with a
/// four-module quiet zone.
pub fn render_png(content: &str, size: u32) -> Option<Vec<u8>> {
    let code = QrCode::new(content.as_bytes()).ok()?;
    let width = code.width();
    let colors = code.to_colors();
    let modules = width as u32 + 8;
    let scale = (size / modules).max(1);
    let side = size.max(scale * modules);
    let offset = (side - scale * modules) / 2;
    let mut pixels = vec![255u8; (side * side) as usize];
    for y in 0..side {
        for x in 0..side {
            if x < offset || y < offset {
                continue;
            }
            let mx = ((x - offset) / scale) as i64 - 4;
            let my = ((y - offset) / scale) as i64 - 4;
            if (0..width as i64).contains(&mx)
                && (0..width as i64).contains(&my)
                && colors[my as usize * width + mx as usize] == Color::Dark
            {
                pixels[(y * side + x) as usize] = 0;
            }
        }
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, side, side);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().ok()?;
        writer.write_image_data(&pixels).ok()?;
        writer.finish().ok()?;
    }
    Some(out)
}

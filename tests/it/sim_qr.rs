//! QR API, merchant callback QRs, and the images behind `qrImageUrl`.

use crate::sim_support::*;
use kasse::sim::SimConfig;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn put_is_an_upsert_that_keeps_the_code() {
    let sim = start(SimConfig::for_tests()).await;
    let put = sim
        .put_qr("27072f82-c4b6-49cd-9838-10f21d87496e", "Kasse 1")
        .await;
    assert_eq!(put.status, 200);
    assert!(put.raw.is_empty(), "PUT answers 200 with an empty body");
    let first = sim
        .get("/qr/v1/merchant-callback/27072f82-c4b6-49cd-9838-10f21d87496e")
        .await;
    assert_eq!(first.status, 200);
    assert_eq!(
        first.body["merchantQrId"],
        "27072f82-c4b6-49cd-9838-10f21d87496e"
    );
    assert_eq!(first.body["merchantSerialNumber"], MSN);

    assert_eq!(
        sim.put_qr("27072f82-c4b6-49cd-9838-10f21d87496e", "Kasse 2")
            .await
            .status,
        200
    );
    let second = sim
        .get("/qr/v1/merchant-callback/27072f82-c4b6-49cd-9838-10f21d87496e")
        .await;
    assert_eq!(second.body["locationDescription"], "Kasse 2");
    assert_eq!(
        second.body["qrContent"], first.body["qrContent"],
        "the code never changes"
    );

    assert_eq!(sim.put_qr("till-2", "Kasse 3").await.status, 200);
    let list = sim.get("/qr/v1/merchant-callback").await;
    assert_eq!(list.status, 200);
    let all = list.body.as_array().unwrap();
    assert_eq!(all.len(), 2);
    assert_ne!(all[0]["qrContent"], all[1]["qrContent"]);
}

#[tokio::test]
async fn location_description_is_required_and_at_most_36_characters() {
    let sim = start(SimConfig::for_tests()).await;
    assert_eq!(sim.put_qr("till-1", &"x".repeat(36)).await.status, 200);
    let long = sim.put_qr("till-1", &"x".repeat(37)).await;
    assert_eq!(long.status, 400);
    let params = long.body["invalidParams"].as_array().unwrap();
    assert_eq!(params[0]["name"], "LocationDescription");
    assert!(long.body["title"].is_string() && long.body["detail"].is_string());
    assert!(long.body["instance"].is_string());
    let missing = sim
        .call(
            Method::PUT,
            "/qr/v1/merchant-callback/till-1",
            None,
            Some(json!({})),
        )
        .await;
    assert_eq!(missing.status, 400);
    assert_eq!(
        missing.body["invalidParams"][0]["name"],
        "LocationDescription"
    );
    // The 36-character description stayed.
    let qr = sim.get("/qr/v1/merchant-callback/till-1").await;
    assert_eq!(qr.body["locationDescription"], "x".repeat(36));
}

#[tokio::test]
async fn delete_is_permanent_and_unknown_ids_are_404() {
    let sim = start(SimConfig::for_tests()).await;
    assert_eq!(sim.get("/qr/v1/merchant-callback/nope").await.status, 404);
    let del = sim
        .call(Method::DELETE, "/qr/v1/merchant-callback/nope", None, None)
        .await;
    assert_eq!(del.status, 404);

    sim.put_qr("till-1", "Kasse 1").await;
    let before = sim.get("/qr/v1/merchant-callback/till-1").await;
    let del = sim
        .call(
            Method::DELETE,
            "/qr/v1/merchant-callback/till-1",
            None,
            None,
        )
        .await;
    assert_eq!(del.status, 200);
    assert_eq!(sim.get("/qr/v1/merchant-callback/till-1").await.status, 404);
    // Scanning the deleted code finds nothing.
    let scan = sim.scan("till-1").await;
    assert_eq!(scan.status, 404);
    // The same id again is a new code.
    sim.put_qr("till-1", "Kasse 1").await;
    let after = sim.get("/qr/v1/merchant-callback/till-1").await;
    assert_ne!(after.body["qrContent"], before.body["qrContent"]);
    // Its old image is gone too.
    let old_image = sim
        .http
        .get(before.body["qrImageUrl"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(old_image.status(), 404);
}

#[tokio::test]
async fn qr_images_are_served_as_png_and_svg() {
    let sim = start(SimConfig::for_tests()).await;
    sim.put_qr("till-1", "Kasse 1").await;

    let svg = sim.get("/qr/v1/merchant-callback/till-1").await;
    let svg_url = svg.body["qrImageUrl"].as_str().unwrap();
    assert!(svg_url.starts_with(sim.handle.base_url.as_str()));
    let image = sim.http.get(svg_url).send().await.unwrap();
    assert_eq!(image.status(), 200);
    assert_eq!(image.headers()["content-type"], "image/svg+xml");
    let text = image.text().await.unwrap();
    assert!(text.contains("<svg"));

    let png = sim
        .get("/qr/v1/merchant-callback/till-1?qrImageFormat=PNG&qrImageSize=300")
        .await;
    let png_url = png.body["qrImageUrl"].as_str().unwrap();
    let image = sim.http.get(png_url).send().await.unwrap();
    assert_eq!(image.status(), 200);
    assert_eq!(image.headers()["content-type"], "image/png");
    let bytes = image.bytes().await.unwrap();
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes.to_vec()));
    let reader = decoder.read_info().unwrap();
    assert_eq!((reader.info().width, reader.info().height), (300, 300));

    // Without auth, like Vipps' image links; bad sizes are refused on GET.
    let bad = sim
        .get("/qr/v1/merchant-callback/till-1?qrImageFormat=PNG&qrImageSize=50")
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body["invalidParams"][0]["name"], "QrImageSize");
    let bad_format = sim.get("/qr/v1/merchant-callback?qrImageFormat=GIF").await;
    assert_eq!(bad_format.status, 400);
}

#[tokio::test]
async fn scanning_by_qr_content_finds_the_till() {
    let sim = start(SimConfig::for_tests()).await;
    sim.put_qr("till-7", "Kasse 7").await;
    let qr = sim.get("/qr/v1/merchant-callback/till-7").await;
    let scan = sim
        .control(
            Method::POST,
            "/sim/v1/scan",
            Some(json!({"qrContent": qr.body["qrContent"], "phoneNumber": "4798765432"})),
        )
        .await;
    assert_eq!(scan.status, 200, "{:?}", scan.body);
    assert_eq!(scan.body["merchantQrId"], "till-7");
    assert_eq!(scan.body["delivered"], false, "nobody registered");
    let unknown = sim
        .control(
            Method::POST,
            "/sim/v1/scan",
            Some(json!({"qrContent": "https://qr.vipps.no/unknown"})),
        )
        .await;
    assert_eq!(unknown.status, 404);
}

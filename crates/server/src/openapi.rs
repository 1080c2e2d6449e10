//! The OpenAPI 3 document of every JSON endpoint, served at `/openapi.json`.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes;

#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "Muster sync server", description = "Field-safety records: sign-in, sync, admin and the office read API."),
    paths(
        routes::healthz,
        routes::limits,
        routes::login,
        routes::refresh,
        routes::create_user,
        routes::list_users,
        routes::change_user,
        routes::create_site,
        routes::set_site_boundary,
        crate::decision::decide,
        routes::list_sites,
        routes::list_devices,
        routes::revoke_device,
        routes::audit_log,
        routes::list_records,
        routes::export_records,
        routes::record_detail,
        crate::sync::sync,
        routes::list_inspection_schedules,
        routes::create_inspection_schedule,
        routes::list_equipment,
        routes::add_equipment,
        routes::change_equipment,
        routes::readiness_report,
        routes::readiness_csv,
    ),
    modifiers(&BearerAuth, &PostcardBodies),
    tags(
        (name = "auth", description = "Device sign-in and token refresh"),
        (name = "sync", description = "The sync exchange and its limits"),
        (name = "admin", description = "Users, sites and devices (office admin only)"),
        (name = "records", description = "The office's read API"),
        (name = "inspections", description = "Site inspection schedules"),
        (name = "health", description = "Liveness"),
        (name = "equipment", description = "The equipment register: units, their status and what changed it"),
        (name = "readiness", description = "The SECOR readiness estimate from the company's records (office admin only)"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The sync exchange's bodies are postcard bytes: described as binary strings, not the array of
/// integers utoipa makes of `Vec<u8>`, so clients and generators send raw bytes.
struct PostcardBodies;

impl Modify for PostcardBodies {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        use utoipa::openapi::{RefOr, Schema};
        let binary = || -> RefOr<Schema> {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
                .into()
        };
        let Some(sync) = openapi
            .paths
            .paths
            .get_mut("/v1/sync")
            .and_then(|item| item.post.as_mut())
        else {
            return;
        };
        let contents = sync
            .request_body
            .iter_mut()
            .flat_map(|body| body.content.iter_mut())
            .chain(
                sync.responses
                    .responses
                    .get_mut("200")
                    .into_iter()
                    .flat_map(|r| match r {
                        RefOr::T(response) => Some(response.content.iter_mut()),
                        RefOr::Ref(_) => None,
                    })
                    .flatten(),
            );
        for (media_type, content) in contents {
            if media_type == sync_core::protocol::SYNC_CONTENT_TYPE {
                content.schema = Some(binary());
            }
        }
    }
}

pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

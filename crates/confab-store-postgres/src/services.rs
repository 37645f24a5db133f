//! Services, their configuration and their roles.

use confab_protocol::entity::{Role, Service};
use confab_protocol::sid::Sid;
use confab_store::{
    NewService, Page, PageRequest, ServiceConfiguration, ServiceConfigurationUpdate, StoreError,
    StoreResult,
};
use sqlx::{PgConnection, Row};

use crate::common::{keyset, service_id};
use crate::rows::{self, ROLE_COLS, SERVICE_COLS, backend, unique_violation};

/// Inserts a service, its four default roles and its configuration.
pub(crate) async fn create(c: &mut PgConnection, new: &NewService) -> StoreResult<Service> {
    insert_service(c, &new.service).await?;
    let r = &new.roles;
    for role in [
        &r.service_admin,
        &r.service_user,
        &r.conversation_admin,
        &r.conversation_user,
    ] {
        insert_role(c, role).await?;
    }
    sqlx::query(
        "INSERT INTO service_configuration (service_id, default_conversation_creator_role_sid, \
         default_conversation_role_sid, default_chat_service_role_sid) SELECT id, $2, $3, $4 FROM services WHERE sid = $1",
    )
    .bind(new.service.sid.as_str())
    .bind(r.conversation_admin.sid.as_str())
    .bind(r.conversation_user.sid.as_str())
    .bind(r.service_user.sid.as_str())
    .execute(&mut *c)
    .await
    .map_err(backend)?;
    Ok(new.service.clone())
}

pub(crate) async fn list(c: &mut PgConnection, page: &PageRequest) -> StoreResult<Page<Service>> {
    let sql = format!(
        "SELECT id, {SERVICE_COLS} FROM services WHERE true{}",
        keyset(page, "id")
    );
    let rows = sqlx::query(&sql)
        .fetch_all(&mut *c)
        .await
        .map_err(backend)?
        .iter()
        .map(|r| {
            Ok((
                r.try_get(0)?,
                Service {
                    sid: Sid::from_trusted(r.try_get(1)?),
                    friendly_name: r.try_get(2)?,
                    date_created: r.try_get(3)?,
                    date_updated: r.try_get(4)?,
                },
            ))
        })
        .collect::<sqlx::Result<Vec<_>>>()
        .map_err(backend)?;
    Ok(Page::from_rows(page, rows))
}

pub(crate) async fn delete(c: &mut PgConnection, sid: &str) -> StoreResult<()> {
    let id = service_id(c, sid).await?;
    let is_default: i64 =
        sqlx::query("SELECT count(*) FROM configuration WHERE default_service_id = $1")
            .bind(id)
            .fetch_one(&mut *c)
            .await
            .and_then(|r| r.try_get(0))
            .map_err(backend)?;
    if is_default > 0 {
        return Err(StoreError::Conflict(
            "the account's default service cannot be deleted; make another the default first"
                .into(),
        ));
    }
    crate::media::condemn_of("service_sid", c, sid).await?;
    for sql in [
        "DELETE FROM conversations WHERE service_id = $1",
        "DELETE FROM users WHERE service_id = $1",
        "DELETE FROM services WHERE id = $1",
    ] {
        sqlx::query(sql)
            .bind(id)
            .execute(&mut *c)
            .await
            .map_err(backend)?;
    }
    Ok(())
}

pub(crate) async fn configuration(
    c: &mut PgConnection,
    service: &str,
) -> StoreResult<Option<ServiceConfiguration>> {
    let row = sqlx::query(
        "SELECT s.sid, c.default_conversation_creator_role_sid, c.default_conversation_role_sid, \
         c.default_chat_service_role_sid, c.reachability_enabled \
         FROM service_configuration c JOIN services s ON s.id = c.service_id WHERE s.sid = $1",
    )
    .bind(service)
    .fetch_optional(&mut *c)
    .await
    .map_err(backend)?;
    row.map(|r| -> sqlx::Result<ServiceConfiguration> {
        Ok(ServiceConfiguration {
            chat_service_sid: Sid::from_trusted(r.try_get(0)?),
            default_conversation_creator_role_sid: Sid::from_trusted(r.try_get(1)?),
            default_conversation_role_sid: Sid::from_trusted(r.try_get(2)?),
            default_chat_service_role_sid: Sid::from_trusted(r.try_get(3)?),
            reachability_enabled: r.try_get(4)?,
        })
    })
    .transpose()
    .map_err(backend)
}

pub(crate) async fn update_configuration(
    c: &mut PgConnection,
    service: &str,
    u: ServiceConfigurationUpdate,
) -> StoreResult<ServiceConfiguration> {
    let id = service_id(c, service).await?;
    let roles = [
        (
            "default_conversation_creator_role_sid",
            &u.default_conversation_creator_role_sid,
            "conversation",
        ),
        (
            "default_conversation_role_sid",
            &u.default_conversation_role_sid,
            "conversation",
        ),
        (
            "default_chat_service_role_sid",
            &u.default_chat_service_role_sid,
            "service",
        ),
    ];
    for (col, sid, scope) in roles {
        let Some(sid) = sid else { continue };
        let found = sqlx::query("SELECT type FROM roles WHERE service_id = $1 AND sid = $2")
            .bind(id)
            .bind(sid.as_str())
            .fetch_optional(&mut *c)
            .await
            .map_err(backend)?;
        match found
            .map(|r| r.try_get::<String, _>(0))
            .transpose()
            .map_err(backend)?
        {
            None => return Err(StoreError::NotFound(format!("Role {sid}"))),
            Some(t) if t != scope => {
                return Err(StoreError::Conflict(format!(
                    "role {sid} is not a {scope} role"
                )));
            }
            Some(_) => {}
        }
        sqlx::query(&format!(
            "UPDATE service_configuration SET {col} = $2 WHERE service_id = $1"
        ))
        .bind(id)
        .bind(sid.as_str())
        .execute(&mut *c)
        .await
        .map_err(backend)?;
    }
    if let Some(on) = u.reachability_enabled {
        sqlx::query(
            "UPDATE service_configuration SET reachability_enabled = $2 WHERE service_id = $1",
        )
        .bind(id)
        .bind(on)
        .execute(&mut *c)
        .await
        .map_err(backend)?;
    }
    configuration(c, service)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("Service {service}")))
}

pub(crate) async fn insert_role(c: &mut PgConnection, role: &Role) -> StoreResult<()> {
    let id = service_id(c, role.chat_service_sid.as_str()).await?;
    let permissions =
        serde_json::to_string(&role.permissions).map_err(|e| StoreError::Backend(e.to_string()))?;
    sqlx::query(
        "INSERT INTO roles (sid, service_id, friendly_name, type, permissions, date_created, date_updated) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(role.sid.as_str())
    .bind(id)
    .bind(&role.friendly_name)
    .bind(role.role_type.as_str())
    .bind(permissions)
    .bind(role.date_created)
    .bind(role.date_updated)
    .execute(&mut *c)
    .await
    .map_err(|e| unique_violation(e, "a role with this SID already exists"))?;
    Ok(())
}

pub(crate) async fn role(
    c: &mut PgConnection,
    service: &str,
    sid: &str,
) -> StoreResult<Option<Role>> {
    let row = sqlx::query(&format!(
        "SELECT {ROLE_COLS} FROM roles r JOIN services s ON s.id = r.service_id WHERE s.sid = $1 AND r.sid = $2"
    ))
    .bind(service)
    .bind(sid)
    .fetch_optional(&mut *c)
    .await
    .map_err(backend)?;
    Ok(row
        .as_ref()
        .map(rows::role)
        .transpose()
        .map_err(backend)?
        .map(|(_, r)| r))
}

pub(crate) async fn update_role(
    c: &mut PgConnection,
    service: &str,
    sid: &str,
    permissions: Vec<String>,
    now: i64,
) -> StoreResult<Role> {
    let mut r = role(c, service, sid)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("Role {sid}")))?;
    let text =
        serde_json::to_string(&permissions).map_err(|e| StoreError::Backend(e.to_string()))?;
    sqlx::query("UPDATE roles SET permissions = $2, date_updated = $3 WHERE sid = $1")
        .bind(sid)
        .bind(text)
        .bind(now)
        .execute(&mut *c)
        .await
        .map_err(backend)?;
    r.permissions = permissions;
    r.date_updated = now;
    Ok(r)
}

pub(crate) async fn delete_role(c: &mut PgConnection, service: &str, sid: &str) -> StoreResult<()> {
    let id = service_id(c, service).await?;
    role(c, service, sid)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("Role {sid}")))?;
    let uses: i64 = sqlx::query(
        "SELECT (SELECT count(*) FROM users WHERE service_id = $1 AND role_sid = $2) \
         + (SELECT count(*) FROM participants WHERE service_id = $1 AND role_sid = $2) \
         + (SELECT count(*) FROM service_configuration WHERE service_id = $1 AND $2 IN \
            (default_conversation_creator_role_sid, default_conversation_role_sid, default_chat_service_role_sid))",
    )
    .bind(id)
    .bind(sid)
    .fetch_one(&mut *c)
    .await
    .and_then(|r| r.try_get(0))
    .map_err(backend)?;
    if uses > 0 {
        return Err(StoreError::Conflict(format!(
            "role {sid} is still assigned and cannot be deleted"
        )));
    }
    sqlx::query("DELETE FROM roles WHERE sid = $1")
        .bind(sid)
        .execute(&mut *c)
        .await
        .map_err(backend)?;
    Ok(())
}

pub(crate) async fn list_roles(
    c: &mut PgConnection,
    service: &str,
    page: &PageRequest,
) -> StoreResult<Page<Role>> {
    let sql = format!(
        "SELECT {ROLE_COLS} FROM roles r JOIN services s ON s.id = r.service_id WHERE s.sid = $1{}",
        keyset(page, "r.id")
    );
    let rows = sqlx::query(&sql)
        .bind(service)
        .fetch_all(&mut *c)
        .await
        .map_err(backend)?
        .iter()
        .map(rows::role)
        .collect::<sqlx::Result<Vec<_>>>()
        .map_err(backend)?;
    Ok(Page::from_rows(page, rows))
}

async fn insert_service(c: &mut PgConnection, s: &Service) -> StoreResult<()> {
    sqlx::query("INSERT INTO services (sid, friendly_name, date_created, date_updated) VALUES ($1, $2, $3, $4)")
        .bind(s.sid.as_str())
        .bind(&s.friendly_name)
        .bind(s.date_created)
        .bind(s.date_updated)
        .execute(&mut *c)
        .await
        .map_err(|e| unique_violation(e, "a service with this SID already exists"))?;
    Ok(())
}

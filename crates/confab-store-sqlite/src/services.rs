//! Services, their configuration and their roles.

use confab_protocol::entity::{Role, Service};
use confab_protocol::sid::Sid;
use confab_store::{
    NewService, Page, PageRequest, ServiceConfiguration, ServiceConfigurationUpdate, StoreError,
    StoreResult,
};
use rusqlite::{Connection, OptionalExtension, params};

use crate::common::{keyset, service_id};
use crate::rows::{self, ROLE_COLS, SERVICE_COLS, backend, unique_violation};

/// Inserts a service, its four default roles and its configuration.
pub(crate) fn create(conn: &Connection, new: &NewService) -> StoreResult<Service> {
    insert_service(conn, &new.service)?;
    let r = &new.roles;
    for role in [
        &r.service_admin,
        &r.service_user,
        &r.conversation_admin,
        &r.conversation_user,
    ] {
        insert_role(conn, role)?;
    }
    conn.prepare_cached(
        "INSERT INTO service_configuration (service_id, default_conversation_creator_role_sid, \
         default_conversation_role_sid, default_chat_service_role_sid) \
         SELECT id, ?2, ?3, ?4 FROM services WHERE sid = ?1",
    )
    .and_then(|mut s| {
        s.execute(params![
            new.service.sid.as_str(),
            r.conversation_admin.sid.as_str(),
            r.conversation_user.sid.as_str(),
            r.service_user.sid.as_str()
        ])
    })
    .map_err(backend)?;
    Ok(new.service.clone())
}

pub(crate) fn list(conn: &Connection, page: &PageRequest) -> StoreResult<Page<Service>> {
    let sql = format!(
        "SELECT id, {SERVICE_COLS} FROM services WHERE true{}",
        keyset(page, "id")
    );
    let rows = conn
        .prepare(&sql)
        .and_then(|mut s| {
            s.query_map([], |r| {
                let id: i64 = r.get(0)?;
                Ok((
                    id,
                    Service {
                        sid: Sid::from_trusted(r.get(1)?),
                        friendly_name: r.get(2)?,
                        date_created: r.get(3)?,
                        date_updated: r.get(4)?,
                    },
                ))
            })?
            .collect()
        })
        .map_err(backend)?;
    Ok(Page::from_rows(page, rows))
}

pub(crate) fn delete(conn: &Connection, sid: &str) -> StoreResult<()> {
    let id = service_id(conn, sid)?;
    let is_default: bool = conn
        .query_row(
            "SELECT count(*) FROM configuration WHERE default_service_id = ?1",
            [id],
            |r| r.get::<_, i64>(0),
        )
        .map_err(backend)?
        > 0;
    if is_default {
        return Err(StoreError::Conflict(
            "the account's default service cannot be deleted; make another the default first"
                .into(),
        ));
    }
    // Rows that reference the service without a cascade go first; conversations take their
    // participants, messages and logs with them, users their logs.
    crate::media::condemn_of("service_sid", conn, sid)?;
    for sql in [
        "DELETE FROM conversations WHERE service_id = ?1",
        "DELETE FROM users WHERE service_id = ?1",
        "DELETE FROM services WHERE id = ?1",
    ] {
        conn.execute(sql, [id]).map_err(backend)?;
    }
    Ok(())
}

pub(crate) fn configuration(
    conn: &Connection,
    service: &str,
) -> StoreResult<Option<ServiceConfiguration>> {
    conn.prepare_cached(
        "SELECT s.sid, c.default_conversation_creator_role_sid, c.default_conversation_role_sid, \
         c.default_chat_service_role_sid, c.reachability_enabled \
         FROM service_configuration c JOIN services s ON s.id = c.service_id WHERE s.sid = ?1",
    )
    .and_then(|mut st| {
        st.query_row([service], |r| {
            Ok(ServiceConfiguration {
                chat_service_sid: Sid::from_trusted(r.get(0)?),
                default_conversation_creator_role_sid: Sid::from_trusted(r.get(1)?),
                default_conversation_role_sid: Sid::from_trusted(r.get(2)?),
                default_chat_service_role_sid: Sid::from_trusted(r.get(3)?),
                reachability_enabled: r.get(4)?,
            })
        })
        .optional()
    })
    .map_err(backend)
}

pub(crate) fn update_configuration(
    conn: &Connection,
    service: &str,
    u: ServiceConfigurationUpdate,
) -> StoreResult<ServiceConfiguration> {
    let id = service_id(conn, service)?;
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
        let found: Option<String> = conn
            .query_row(
                "SELECT type FROM roles WHERE service_id = ?1 AND sid = ?2",
                params![id, sid.as_str()],
                |r| r.get(0),
            )
            .optional()
            .map_err(backend)?;
        match found {
            None => return Err(StoreError::NotFound(format!("Role {sid}"))),
            Some(t) if t != scope => {
                return Err(StoreError::Conflict(format!(
                    "role {sid} is not a {scope} role"
                )));
            }
            Some(_) => {}
        }
        conn.execute(
            &format!("UPDATE service_configuration SET {col} = ?2 WHERE service_id = ?1"),
            params![id, sid.as_str()],
        )
        .map_err(backend)?;
    }
    if let Some(on) = u.reachability_enabled {
        conn.execute(
            "UPDATE service_configuration SET reachability_enabled = ?2 WHERE service_id = ?1",
            params![id, on],
        )
        .map_err(backend)?;
    }
    configuration(conn, service)?.ok_or_else(|| StoreError::NotFound(format!("Service {service}")))
}

pub(crate) fn insert_role(conn: &Connection, role: &Role) -> StoreResult<()> {
    let id = service_id(conn, role.chat_service_sid.as_str())?;
    let permissions =
        serde_json::to_string(&role.permissions).map_err(|e| StoreError::Backend(e.to_string()))?;
    conn.prepare_cached(
        "INSERT INTO roles (sid, service_id, friendly_name, type, permissions, date_created, date_updated) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut s| {
        s.execute(params![
            role.sid.as_str(),
            id,
            role.friendly_name,
            role.role_type.as_str(),
            permissions,
            role.date_created,
            role.date_updated
        ])
    })
    .map_err(|e| unique_violation(e, "a role with this SID already exists"))?;
    Ok(())
}

pub(crate) fn role(conn: &Connection, service: &str, sid: &str) -> StoreResult<Option<Role>> {
    conn.prepare_cached(&format!(
        "SELECT {ROLE_COLS} FROM roles r JOIN services s ON s.id = r.service_id WHERE s.sid = ?1 AND r.sid = ?2"
    ))
    .and_then(|mut st| st.query_row(params![service, sid], rows::role).optional())
    .map_err(backend)
    .map(|r| r.map(|(_, role)| role))
}

pub(crate) fn update_role(
    conn: &Connection,
    service: &str,
    sid: &str,
    permissions: Vec<String>,
    now: i64,
) -> StoreResult<Role> {
    let mut r =
        role(conn, service, sid)?.ok_or_else(|| StoreError::NotFound(format!("Role {sid}")))?;
    let text =
        serde_json::to_string(&permissions).map_err(|e| StoreError::Backend(e.to_string()))?;
    conn.execute(
        "UPDATE roles SET permissions = ?2, date_updated = ?3 WHERE sid = ?1",
        params![sid, text, now],
    )
    .map_err(backend)?;
    r.permissions = permissions;
    r.date_updated = now;
    Ok(r)
}

pub(crate) fn delete_role(conn: &Connection, service: &str, sid: &str) -> StoreResult<()> {
    let id = service_id(conn, service)?;
    role(conn, service, sid)?.ok_or_else(|| StoreError::NotFound(format!("Role {sid}")))?;
    let uses: i64 = conn
        .query_row(
            "SELECT (SELECT count(*) FROM users WHERE service_id = ?1 AND role_sid = ?2) \
             + (SELECT count(*) FROM participants WHERE service_id = ?1 AND role_sid = ?2) \
             + (SELECT count(*) FROM service_configuration WHERE service_id = ?1 AND ?2 IN \
                (default_conversation_creator_role_sid, default_conversation_role_sid, default_chat_service_role_sid))",
            params![id, sid],
            |r| r.get(0),
        )
        .map_err(backend)?;
    if uses > 0 {
        return Err(StoreError::Conflict(format!(
            "role {sid} is still assigned and cannot be deleted"
        )));
    }
    conn.execute("DELETE FROM roles WHERE sid = ?1", [sid])
        .map_err(backend)?;
    Ok(())
}

pub(crate) fn list_roles(
    conn: &Connection,
    service: &str,
    page: &PageRequest,
) -> StoreResult<Page<Role>> {
    let sql = format!(
        "SELECT {ROLE_COLS} FROM roles r JOIN services s ON s.id = r.service_id WHERE s.sid = ?1{}",
        keyset(page, "r.id")
    );
    let rows = conn
        .prepare(&sql)
        .and_then(|mut s| s.query_map([service], rows::role)?.collect())
        .map_err(backend)?;
    Ok(Page::from_rows(page, rows))
}

fn insert_service(conn: &Connection, s: &Service) -> StoreResult<()> {
    conn.prepare_cached("INSERT INTO services (sid, friendly_name, date_created, date_updated) VALUES (?1, ?2, ?3, ?4)")
        .and_then(|mut st| st.execute(params![s.sid.as_str(), s.friendly_name, s.date_created, s.date_updated]))
        .map_err(|e| unique_violation(e, "a service with this SID already exists"))?;
    Ok(())
}

//! Services (tenants) and their configuration.

use confab_protocol::entity::{RoleType, Service};
use confab_protocol::sid::SidKind;
use confab_store::{NewService, Page, ServiceConfiguration, ServiceConfigurationUpdate};

use crate::error::{DomainError, DomainResult};
use crate::roles::default_roles;
use crate::validate;
use crate::{Actor, Domain, PageParams, new_sid, require_backend};

/// Changes to a service's configuration, as given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateServiceConfiguration {
    /// `DefaultConversationCreatorRoleSid` (a conversation role).
    pub default_conversation_creator_role_sid: Option<String>,
    /// `DefaultConversationRoleSid` (a conversation role).
    pub default_conversation_role_sid: Option<String>,
    /// `DefaultChatServiceRoleSid` (a service role).
    pub default_chat_service_role_sid: Option<String>,
    /// `ReachabilityEnabled`.
    pub reachability_enabled: Option<bool>,
}

impl Domain {
    /// Creates a service with its four default roles.
    pub async fn create_service(
        &self,
        actor: &Actor,
        friendly_name: Option<String>,
    ) -> DomainResult<Service> {
        require_backend(actor)?;
        let name = friendly_name.ok_or_else(|| DomainError::invalid("FriendlyName is required"))?;
        validate::name("FriendlyName", &name, self.limits().friendly_name_chars)?;
        let now = self.now();
        let sid = new_sid(SidKind::Service);
        let new = NewService {
            roles: default_roles(&sid, now),
            service: Service {
                sid,
                friendly_name: name,
                date_created: now,
                date_updated: now,
            },
        };
        Ok(self.store().create_service(new).await?)
    }

    /// Fetches a service.
    pub async fn service(&self, actor: &Actor, sid: &str) -> DomainResult<Service> {
        let sid = self.service_for(actor, Some(sid))?;
        self.store()
            .service(sid.as_str())
            .await?
            .ok_or_else(|| DomainError::not_found(format!("Service {sid}")))
    }

    /// Lists the account's services.
    pub async fn list_services(
        &self,
        actor: &Actor,
        page: PageParams,
    ) -> DomainResult<Page<Service>> {
        require_backend(actor)?;
        let page = self.page(page)?;
        Ok(self.store().list_services(&page).await?)
    }

    /// Deletes a service with everything in it (not the account's default service).
    pub async fn delete_service(&self, actor: &Actor, sid: &str) -> DomainResult<()> {
        require_backend(actor)?;
        let service = self.service(actor, sid).await?;
        Ok(self.store().delete_service(service.sid.as_str()).await?)
    }

    /// A service's configuration.
    pub async fn service_configuration(
        &self,
        actor: &Actor,
        service: Option<&str>,
    ) -> DomainResult<ServiceConfiguration> {
        require_backend(actor)?;
        let sid = self.service_for(actor, service)?;
        self.store()
            .service_configuration(sid.as_str())
            .await?
            .ok_or_else(|| DomainError::not_found(format!("Service {sid}")))
    }

    /// Changes a service's configuration; the roles named must exist there with the right scope.
    pub async fn update_service_configuration(
        &self,
        actor: &Actor,
        service: Option<&str>,
        input: UpdateServiceConfiguration,
    ) -> DomainResult<ServiceConfiguration> {
        let current = self.service_configuration(actor, service).await?;
        let service = current.chat_service_sid;
        let mut update = ServiceConfigurationUpdate {
            reachability_enabled: input.reachability_enabled,
            ..Default::default()
        };
        if let Some(r) = &input.default_conversation_creator_role_sid {
            update.default_conversation_creator_role_sid = Some(
                self.require_role(
                    &service,
                    "DefaultConversationCreatorRoleSid",
                    r,
                    RoleType::Conversation,
                )
                .await?,
            );
        }
        if let Some(r) = &input.default_conversation_role_sid {
            update.default_conversation_role_sid = Some(
                self.require_role(
                    &service,
                    "DefaultConversationRoleSid",
                    r,
                    RoleType::Conversation,
                )
                .await?,
            );
        }
        if let Some(r) = &input.default_chat_service_role_sid {
            update.default_chat_service_role_sid = Some(
                self.require_role(&service, "DefaultChatServiceRoleSid", r, RoleType::Service)
                    .await?,
            );
        }
        let updated = self
            .store()
            .update_service_configuration(service.as_str(), update)
            .await?;
        // The default roles may have changed.
        self.access_cache().clear();
        Ok(updated)
    }
}

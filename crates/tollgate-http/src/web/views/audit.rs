//! The audit trail: the table of records with a details dialog each, and the account's audit
//! trail page.

use maud::{Markup, html};
use tollgate_audit::AuditRecord;

use super::components::when;
use super::frame::layout;
use super::{Section, Who};
use crate::web::{AUDIT_PATH, TOKENS_PATH};

/// An audit trail table with a details dialog per record.
pub fn audit_table(records: &[AuditRecord], with_object: bool) -> Markup {
    html! {
        @if records.is_empty() {
            div.empty { h2 { "No audit records yet" } }
        } @else {
            div.table-wrap {
                table.audit {
                    thead { tr {
                        th scope="col" { "Date" }
                        th scope="col" { "Actor" }
                        @if with_object { th scope="col" { "API token" } }
                        th scope="col" { "Summary" }
                        th scope="col" { "Request" }
                        th scope="col" { span.visually-hidden { "Details" } }
                    } }
                    tbody {
                        @for record in records {
                            @let dialog = format!("record-{}", record.id);
                            tr {
                                td data-label="Date" { (when(&record.timestamp)) }
                                td data-label="Actor" {
                                    div { div { (record.actor.name) } div.muted.mono { (record.actor.id) } }
                                }
                                @if with_object {
                                    td data-label="API token" { div {
                                        a href=(format!("{TOKENS_PATH}/{}", record.object.id)) { (record.object.name) }
                                        div.muted.mono { (record.object.id) }
                                    } }
                                }
                                td data-label="Summary" { (record.summary) }
                                td data-label="Request" { div {
                                    div.mono { (record.request.api_ip().unwrap_or("—")) }
                                    @if let Some(agent) = record.request.user_agent() {
                                        div.muted.truncate title=(agent) { (agent) }
                                    }
                                } }
                                td {
                                    button.button.small type="button" data-dialog=(dialog)
                                        aria-label=(format!("Details of record {}", record.id)) { "Details" }
                                    dialog.record id=(dialog) aria-labelledby=(format!("{dialog}-title")) {
                                        h2 id=(format!("{dialog}-title")) { "Audit record " span.mono { (record.id) } }
                                        dl.overview {
                                            dt { "Event" } dd.mono { (record.event) }
                                            dt { "Date" } dd { (when(&record.timestamp)) }
                                            dt { "Actor" } dd { (record.actor.name) " (" (record.actor.id) ")" }
                                            dt { "Summary" } dd { (record.summary) }
                                            dt { "Correlation id" } dd.mono { (record.request.correlation_id().unwrap_or("—")) }
                                            dt { "Revision" } dd { (record.revision) }
                                        }
                                        h3 { "Record" }
                                        pre.json { (serde_json::to_string_pretty(record).unwrap_or_default()) }
                                        div.actions { button.button type="button" data-close { "Close" } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The account's audit trail page.
pub fn audit_page(who: &Who, records: &[AuditRecord], total: u64, page: u64, size: u32) -> Markup {
    let first = (page - 1) * u64::from(size) + 1;
    let last = first + records.len() as u64 - 1;
    let href = |page: u64| format!("{AUDIT_PATH}?size={size}&page={page}");
    let body = html! {
        div.page-head { h1 { "Audit trail" } }
        p.muted { "Every change to your account's API tokens, newest first." }
        (audit_table(records, true))
        @if !records.is_empty() {
            nav.pager aria-label="Pagination" {
                span { (first) "–" (last) " of " (total) }
                @if page > 1 { a.button.small href=(href(page - 1)) rel="prev" { "Previous" } }
                @if last < total { a.button.small href=(href(page + 1)) rel="next" { "Next" } }
            }
        }
    };
    layout("Audit trail", who, Section::Audit, body)
}

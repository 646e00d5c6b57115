"""Admins give accounts their staff roles and search the audit log."""

from __future__ import annotations

import pytest
from helpers import PASSWORD, browser, csrf_token, visible
from sqlmodel import select

from stickerreg.models import AuditEntry, LoginSession, Role, User
from stickerreg.services import accounts, audit, crm


@pytest.fixture
def admin(user_factory):
    return user_factory(email="admin@example.se", password=PASSWORD, role=Role.ADMIN)


@pytest.fixture
def admin_client(app, admin):
    return browser(app, email=admin.email)


def give_role(client, email: str, role: str):
    return client.post("/admin/users", data={"email": email, "role": role,
                                             "csrf_token": csrf_token(client, "/admin/users")})


def test_an_admin_gives_an_account_a_role_and_it_is_audited(app, session, admin_client, admin, user_factory):
    seller = user_factory(email="saljare@example.se", password=PASSWORD)
    seller_client = browser(app, email=seller.email)
    response = give_role(admin_client, "Saljare@Example.se", "sales")
    assert response.status_code == 303
    assert "saljare@example.se is now: Sales." in visible(admin_client.get("/admin/users"))
    session.expire_all()
    assert session.get(User, seller.id).role == "sales"
    [entry] = session.exec(select(AuditEntry).where(AuditEntry.action == "user.role_changed")).all()
    assert (entry.actor_id, entry.subject_id, entry.detail) == (admin.id, seller.id, {"from": "customer", "to": "sales"})
    # The new role holds from the next sign-in: the old session is gone.
    assert session.exec(select(LoginSession).where(LoginSession.user_id == seller.id)).first() is None
    assert seller_client.get("/account/").status_code == 302


def test_an_unknown_email_or_the_admins_own_role_is_refused(session, admin_client, admin):
    unknown = give_role(admin_client, "nobody@example.se", "sales")
    assert unknown.status_code == 422 and "No account has that email address." in visible(unknown)
    own = give_role(admin_client, admin.email, "customer")
    assert own.status_code == 422 and "You can't take away your own admin role." in visible(own)
    session.expire_all()
    assert session.get(User, admin.id).role == "admin"
    assert give_role(admin_client, admin.email, "no-such-role").status_code == 422


def test_the_audit_log_finds_a_customers_entries_with_the_reason_staff_gave(
        session, admin_client, admin, user_factory):
    customer = user_factory(email="kund@example.se")
    other = user_factory(email="annan@example.se")
    crm.open_record(session, customer, staff=admin, reason="customer_called")
    crm.open_record(session, other, staff=admin, reason="complaint")
    session.commit()
    page = admin_client.get(f"/admin/audit?customer={customer.customer_number}")
    text = visible(page)
    assert page.status_code == 200 and "Reason: The customer called us" in text
    assert f"Customer {accounts.display_customer_number(customer.customer_number)}" in text  # as it is read aloud
    assert "A complaint" not in text
    everything = visible(admin_client.get("/admin/audit?action=customer."))
    assert "Reason: A complaint" in everything and "customer.viewed" in everything
    audit.record_views(session, [other], staff=admin, reason="customer_search")  # a page's own reason
    session.commit()
    assert "Reason: Found in a customer search" in visible(admin_client.get("/admin/audit?action=customer."))
    assert admin_client.get("/admin/audit?customer=123").status_code == 422

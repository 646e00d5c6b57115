"""Linked services a customer has besides stickers: payment cards (`cards`) and phones
(`devices`) to block when lost, using the directory of issuers and operators (`directory`);
blocking cases when something is lost (`blocking`); credit-inquiry alerts (`idprotect`);
and fire-alarm contacts (`fire`). Every change is written to the audit log."""

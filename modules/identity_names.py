"""Cognito group names shared by the user pool construct, the local platform and onboarding.

Pure Python (no cdktf import), like `modules.naming`.
"""

TENANT_ADMIN_GROUP = "tenant-admins"
PLATFORM_ADMIN_GROUP = "platform-admins"

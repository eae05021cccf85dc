/**
 * Name of the SQL helper that compiled date comparisons call. It is created by the TenantIsolation
 * migration and accepts exactly the strings parseIsoDate accepts (strict ISO 8601, bare dates as UTC
 * midnight), which is what makes evaluateFilter agree with the SQL; the e2e filter test checks both.
 */
export const TRY_TIMESTAMPTZ_FUNCTION = 'quiver_try_timestamptz';

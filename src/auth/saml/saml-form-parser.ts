import { errorCodes, type FastifyInstance } from 'fastify';
import { MAX_SAML_RESPONSE_CHARS } from './saml-login.service';

/** The one route that takes a form: the SAML Assertion Consumer Service (the IdP's auto-posted form). */
export const SAML_ACS_ROUTE = '/v1/auth/:tenantSlug/:connectionId/callback';

const FORM = 'application/x-www-form-urlencoded';

/**
 * The API speaks JSON, and app.factory removes the form parser Nest's Fastify adapter registers.
 * SAML's HTTP-POST binding needs one, for one route: this parser runs after routing, so it answers
 * every other route exactly as having no form parser does (415), and no handler elsewhere ever sees
 * a form-decoded body. Fields sent twice stay a list, which the ACS refuses.
 */
export function acceptSamlForms(fastify: FastifyInstance): void {
  fastify.addContentTypeParser(
    FORM,
    // Base64 inflates by a third; the rest of the form (RelayState) is small.
    { parseAs: 'string', bodyLimit: Math.ceil(MAX_SAML_RESPONSE_CHARS * 1.5) },
    (req, body, done) => {
      if (req.method !== 'POST' || req.routeOptions.url !== SAML_ACS_ROUTE) {
        done(new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE(FORM), undefined);
        return;
      }
      const form = Object.create(null) as Record<string, string | string[]>;
      for (const [key, value] of new URLSearchParams(body as string)) {
        const seen = form[key];
        form[key] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
      }
      done(null, form);
    },
  );
}

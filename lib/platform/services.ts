import { s3Store, type ObjectStore } from './storage';

/** The real object store, wired once per container. Mail has its own module (lib/platform/smtp.ts) to keep nodemailer out of other bundles. */
export const services: { objects: ObjectStore } = { objects: s3Store };

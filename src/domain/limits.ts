/** The limits SailPoint documents for NELM, in one place. */
export const LIMITS = {
  sourcesPerTenant: 50,
  recordsPerSource: 20_000,
  customAttributesPerSource: 10,
  approversPerSource: 3,
  accountManagersPerSource: 10,
  decisionComment: 4000,
  pageSize: 250,
} as const;

/**
 * The 8 mandatory schema attributes every source gets. Their technical names are the template's
 * CSV columns and the record's required fields; SailPoint's documents give no labels or types, so
 * these are this product's choice (docs/architecture.md, Decisions).
 */
export type AttributeType = 'TEXT' | 'DATE' | 'IDENTITY' | 'PHONE' | 'EMAIL';

export interface SystemAttribute {
  technicalName: string;
  label: string;
  type: AttributeType;
  helpText: string;
}

export const SYSTEM_ATTRIBUTES: readonly SystemAttribute[] = [
  { technicalName: 'accountName', label: 'Account Name', type: 'TEXT', helpText: 'Unique account name of the non-employee within the source' },
  { technicalName: 'firstName', label: 'First Name', type: 'TEXT', helpText: 'Given name' },
  { technicalName: 'lastName', label: 'Last Name', type: 'TEXT', helpText: 'Family name' },
  { technicalName: 'phone', label: 'Phone', type: 'TEXT', helpText: 'Phone number' },
  { technicalName: 'email', label: 'Email', type: 'TEXT', helpText: 'Email address' },
  { technicalName: 'manager', label: 'Manager', type: 'IDENTITY', helpText: 'Account name of the identity who manages the non-employee' },
  { technicalName: 'startDate', label: 'Start Date', type: 'DATE', helpText: 'First day of the engagement' },
  { technicalName: 'endDate', label: 'End Date', type: 'DATE', helpText: 'Last day of the engagement' },
];

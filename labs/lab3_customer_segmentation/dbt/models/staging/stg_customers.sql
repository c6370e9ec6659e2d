with

source as (

    select * from {{ source('raw', 'customers') }}

),

renamed as (

    select
        customer_id,
        signup_date,
        region,
        channel
    from source

)

select * from renamed
